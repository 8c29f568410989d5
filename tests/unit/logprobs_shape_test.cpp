// Per-token logprobs in each API's answer: Ollama's "logprobs" list, OpenAI chat's
// choices[].logprobs.content and the legacy completions' tokens/token_logprobs/top_logprobs/
// text_offset, streamed (each chunk its tokens') and whole (every token).
#include <gtest/gtest.h>

#include <string>

#include "api/logprob_json.h"
#include "api/ollama_shape.h"
#include "api/openai_shape.h"

namespace {

using ebb::Logprob;
using ebb::MessageDelta;
using ebb::api::OllamaShape;
using ebb::api::OpenAIShape;
using json = nlohmann::json;
using Kind = OpenAIShape::Kind;

const json kDone = {{"type", "done"}, {"done_reason", "stop"}, {"eval_count", 2}};

MessageDelta with_logprobs(const std::string& text, std::vector<Logprob> entries) {
  MessageDelta d = MessageDelta::text(text);
  d.logprobs = std::move(entries);
  return d;
}

const Logprob kHi = {{"Hi", -0.5}, {{"Hi", -0.5}, {"Hey", -1.25}}};
const Logprob kE = {{"\xC3\xA9", -2.0}, {{"\xC3\xA9", -2.0}, {"e", -2.0}}};

// The JSON of a stream's first "data: ..." event.
json first_event(const std::string& sse) { return json::parse(sse.substr(6, sse.find("\n\n") - 6)); }

TEST(LogprobsShape, OllamaEntries) {
  const json j = ebb::api::ollama_logprobs({kHi, {{"\xE2\x80", -3.0}, {}}});
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0], json::parse(R"({"token": "Hi", "logprob": -0.5, "bytes": [72, 105],
    "top_logprobs": [{"token": "Hi", "logprob": -0.5, "bytes": [72, 105]},
                     {"token": "Hey", "logprob": -1.25, "bytes": [72, 101, 121]}]})"));
  EXPECT_EQ(j[0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(j[0]["bytes"], json({72, 105}));
  EXPECT_FALSE(j[1].contains("top_logprobs")) << "none asked for: omitted, as Ollama's omitempty";
  EXPECT_EQ(j[1]["bytes"], json({226, 128}));
  EXPECT_EQ(ebb::api::wire_json(j[1]["token"]), "\"\xEF\xBF\xBD\"") << "part of a character: U+FFFD in the text";
}

TEST(LogprobsShape, OllamaChunksAndWhole) {
  OllamaShape generate("tiny", false);
  const json line = json::parse(generate.chunk(with_logprobs("Hi", {kHi})));
  EXPECT_EQ(line["response"], "Hi");
  ASSERT_EQ(line["logprobs"].size(), 1u);
  EXPECT_EQ(line["logprobs"][0]["token"], "Hi");
  EXPECT_EQ(line["logprobs"][0]["logprob"], -0.5);
  EXPECT_FALSE(json::parse(generate.chunk(MessageDelta::text("x"))).contains("logprobs"));
  EXPECT_FALSE(json::parse(generate.final(kDone, {})).contains("logprobs")) << "the last line has no token";

  OllamaShape chat("tiny", true);
  MessageDelta all = with_logprobs("Hi", {kHi});
  all.append(with_logprobs("\xC3\xA9", {kE}));
  const json whole = chat.whole(all, kDone, {});
  EXPECT_EQ(whole["message"]["content"], "Hi\xC3\xA9");
  ASSERT_EQ(whole["logprobs"].size(), 2u) << "the whole answer lists every token";
  EXPECT_EQ(whole["logprobs"][1]["token"], "\xC3\xA9");
  EXPECT_EQ(whole["logprobs"][1]["bytes"], json({195, 169}));
}

TEST(LogprobsShape, OpenAIChatStreamed) {
  OpenAIShape shape(Kind::Chat, "tiny", false, "chatcmpl-X", 1, true);
  EXPECT_TRUE(first_event(shape.opening())["choices"][0]["logprobs"].is_null());
  const json c = first_event(shape.chunk(with_logprobs("Hi", {kHi})))["choices"][0];
  EXPECT_EQ(c["delta"]["content"], "Hi");
  EXPECT_TRUE(c["logprobs"]["refusal"].is_null());
  ASSERT_EQ(c["logprobs"]["content"].size(), 1u);
  const json& e = c["logprobs"]["content"][0];
  EXPECT_EQ(e["token"], "Hi");
  EXPECT_EQ(e["logprob"], -0.5);
  EXPECT_EQ(e["bytes"], json({72, 105}));
  ASSERT_EQ(e["top_logprobs"].size(), 2u);
  EXPECT_EQ(e["top_logprobs"][1], json({{"token", "Hey"}, {"logprob", -1.25}, {"bytes", {72, 101, 121}}}));
  // A chunk with only logprobs (a parser still holds their text back).
  const json only = first_event(shape.chunk(with_logprobs("", {kE})))["choices"][0];
  EXPECT_EQ(only["delta"], json::object());
  EXPECT_EQ(only["logprobs"]["content"].size(), 1u);
  EXPECT_TRUE(first_event(shape.final(kDone, {}))["choices"][0]["logprobs"].is_null());
}

TEST(LogprobsShape, OpenAIChatWhole) {
  OpenAIShape asked(Kind::Chat, "tiny", false, "chatcmpl-X", 1, true);
  MessageDelta m = with_logprobs("Hi", {{{"Hi", -0.5}, {}}});
  const json c = asked.whole(m, kDone, {})["choices"][0];
  ASSERT_EQ(c["logprobs"]["content"].size(), 1u);
  EXPECT_EQ(c["logprobs"]["content"][0]["top_logprobs"], json::array()) << "always present in OpenAI's shape";
  EXPECT_TRUE(c["logprobs"]["refusal"].is_null());
  EXPECT_EQ(asked.whole(MessageDelta::text(""), kDone, {})["choices"][0]["logprobs"]["content"], json::array())
      << "asked for, no tokens: an empty list";
  OpenAIShape not_asked(Kind::Chat, "tiny", false, "chatcmpl-X", 1);
  EXPECT_TRUE(not_asked.whole(m, kDone, {})["choices"][0]["logprobs"].is_null());
  EXPECT_TRUE(first_event(not_asked.chunk(m))["choices"][0]["logprobs"].is_null());
}

TEST(LogprobsShape, LegacyCompletionOffsetsGoOnAcrossChunks) {
  OpenAIShape shape(Kind::Completion, "tiny", false, "cmpl-X", 1, true);
  const json a = first_event(shape.chunk(with_logprobs("Hi\xC3\xA9", {kHi, kE})))["choices"][0]["logprobs"];
  EXPECT_EQ(a["tokens"], json({"Hi", "\xC3\xA9"}));
  EXPECT_EQ(a["token_logprobs"], json({-0.5, -2.0}));
  EXPECT_EQ(a["top_logprobs"], json::parse(R"([{"Hi": -0.5, "Hey": -1.25}, {"\u00e9": -2.0, "e": -2.0}])"));
  EXPECT_EQ(a["text_offset"], json({0, 2}));
  const json b = first_event(shape.chunk(with_logprobs("Hi", {kHi})))["choices"][0]["logprobs"];
  EXPECT_EQ(b["text_offset"], json({3})) << "characters, not bytes: é is one";
  EXPECT_TRUE(first_event(shape.chunk(MessageDelta::text("x")))["choices"][0]["logprobs"].is_null());

  MessageDelta all = with_logprobs("Hi", {kHi});
  all.append(with_logprobs("Hi", {{{"Hi", -0.5}, {}}}));
  const json w = shape.whole(all, kDone, {})["choices"][0]["logprobs"];
  EXPECT_EQ(w["text_offset"], json({0, 2})) << "a whole answer counts from its own start";
  EXPECT_EQ(w["top_logprobs"][1], json::object()) << "logprobs: 0 lists no alternatives";
}

}  // namespace
