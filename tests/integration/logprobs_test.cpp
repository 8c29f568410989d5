// Token logprobs through a real serve, on both APIs, streamed and whole: one entry per generated
// token (eval_count, completion_tokens), the greedy token on top of its list, sorted
// alternatives, and tokens that spell the generated text (chunk by chunk when nothing parses it).
// A reasoning model's parsed output still gets an entry for every token.
#include <cmath>

#include "serve_fixture.h"

namespace ebb::test {
namespace {

// Greedy with no penalty: the sampled token is the raw distribution's most likely one.
const json kGreedy = {{"temperature", 0}, {"repeat_penalty", 1.0}, {"num_predict", 12}};

json ollama_generate(int top) {
  return {{"model", "plain"},
          {"prompt", "Tell me about rivers"},
          {"options", kGreedy},
          {"logprobs", true},
          {"top_logprobs", top}};
}

json ollama_chat(const std::string& model, int top) {
  return {{"model", model},
          {"messages", {{{"role", "user"}, {"content", "Why is the sky blue?"}}}},
          {"options", kGreedy},
          {"logprobs", true},
          {"top_logprobs", top}};
}

// The entry's text as its bytes spell it.
std::string bytes_of(const json& entry) {
  std::string s;
  for (const auto& b : entry["bytes"]) s += static_cast<char>(b.get<int>());
  return s;
}

// One entry as both APIs write it: bytes, a logprob <= 0, `top` sorted alternatives.
void expect_entry(const json& e, size_t top, bool greedy) {
  ASSERT_TRUE(e["token"].is_string()) << e.dump();
  EXPECT_LE(e["logprob"].get<double>(), 0.0) << e.dump();
  EXPECT_FALSE(e["bytes"].empty()) << e.dump();
  if (top == 0) return;
  const json& alts = e["top_logprobs"];
  ASSERT_EQ(alts.size(), top) << e.dump();
  double mass = 0;
  for (size_t i = 0; i < alts.size(); ++i) {
    mass += std::exp(alts[i]["logprob"].get<double>());
    if (i > 0) {
      EXPECT_GE(alts[i - 1]["logprob"].get<double>(), alts[i]["logprob"].get<double>()) << e.dump();
    }
  }
  EXPECT_LE(mass, 1.0 + 1e-5) << e.dump();
  EXPECT_LE(e["logprob"].get<double>(), alts[0]["logprob"].get<double>()) << e.dump();
  if (greedy) {
    EXPECT_EQ(bytes_of(alts[0]), bytes_of(e)) << "the greedy token is the most likely: " << e.dump();
    EXPECT_EQ(alts[0]["logprob"], e["logprob"]) << e.dump();
  }
}

std::string spelled(const json& entries) {
  std::string s;
  for (const auto& e : entries) s += bytes_of(e);
  return s;
}

class Logprobs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new Server({"--device-memory", "8GiB"}, family_models()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static json whole(const std::string& path, json body) {
    if (!body.contains("stream")) body["stream"] = false;
    auto [status, text] = server_->post(path, body);
    EXPECT_EQ(status, 200) << text;
    return json::parse(text, nullptr, false);
  }
  static std::vector<json> sse(const std::string& path, json body) {
    body["stream"] = true;
    auto [status, text] = server_->post(path, body);
    EXPECT_EQ(status, 200) << text;
    return sse_events(text);
  }
  static Server* server_;
};
Server* Logprobs::server_ = nullptr;

TEST_F(Logprobs, OllamaGenerateWhole) {
  const json r = whole("/api/generate", ollama_generate(3));
  ASSERT_TRUE(r["logprobs"].is_array()) << r.dump();
  EXPECT_GT(r["eval_count"].get<int>(), 0);
  EXPECT_EQ(r["logprobs"].size(), r["eval_count"].get<size_t>());
  for (const auto& e : r["logprobs"]) expect_entry(e, 3, true);
  EXPECT_EQ(spelled(r["logprobs"]), r["response"]);
}

TEST_F(Logprobs, OllamaGenerateStreamedChunkByChunk) {
  const json w = whole("/api/generate", ollama_generate(2));
  json body = ollama_generate(2);
  body["stream"] = true;
  size_t entries = 0;
  std::string text, tokens;
  json last;
  for (const auto& line : server_->stream("/api/generate", body)) {
    last = line;
    if (line.value("done", false)) break;
    for (const auto& e : line.value("logprobs", json::array())) expect_entry(e, 2, true);
    entries += line.value("logprobs", json::array()).size();
    text += line["response"].get<std::string>();
    tokens += spelled(line.value("logprobs", json::array()));
    // An entry goes out with the last byte of its token's text: never before its text.
    EXPECT_EQ(text.compare(0, tokens.size(), tokens), 0) << "text '" << text << "', tokens '" << tokens << "'";
  }
  EXPECT_FALSE(last.contains("logprobs")) << "the last line carries no token";
  EXPECT_EQ(entries, last["eval_count"].get<size_t>());
  EXPECT_EQ(text, w["response"]);
  EXPECT_EQ(tokens, text);
}

TEST_F(Logprobs, OllamaChatWholeAndStreamed) {
  const json r = whole("/api/chat", ollama_chat("plain", 0));
  ASSERT_EQ(r["logprobs"].size(), r["eval_count"].get<size_t>()) << r.dump();
  for (const auto& e : r["logprobs"]) {
    expect_entry(e, 0, true);
    EXPECT_FALSE(e.contains("top_logprobs")) << "none asked for: omitted, as Ollama";
  }
  EXPECT_EQ(spelled(r["logprobs"]), r["message"]["content"]);
  json streamed = json::array();
  for (const auto& line : server_->stream("/api/chat", ollama_chat("plain", 0)))
    for (const auto& e : line.value("logprobs", json::array())) streamed.push_back(e);
  EXPECT_EQ(streamed, r["logprobs"]) << "greedy: the same tokens either way";
}

// A reasoning model's output is parsed into thinking and content; every token still has its entry.
TEST_F(Logprobs, ParsedOutputKeepsEveryToken) {
  json body = ollama_chat("r1", 1);
  body["options"]["num_predict"] = 24;
  const json r = whole("/api/chat", body);
  EXPECT_FALSE(r["message"].value("thinking", "").empty()) << r.dump();
  EXPECT_EQ(r["logprobs"].size(), r["eval_count"].get<size_t>());
  size_t streamed = 0, eval_count = 0;
  body["stream"] = true;
  for (const auto& line : server_->stream("/api/chat", body)) {
    streamed += line.value("logprobs", json::array()).size();
    if (line.value("done", false)) eval_count = line["eval_count"];
  }
  EXPECT_EQ(streamed, eval_count);
}

TEST_F(Logprobs, OllamaBadValuesAre400) {
  for (const json& bad : {json{{"top_logprobs", 21}}, json{{"top_logprobs", -1}}, json{{"top_logprobs", "3"}},
                          json{{"logprobs", "yes"}}}) {
    json body = ollama_generate(0);
    body.update(bad);
    auto [status, text] = server_->post("/api/generate", body);
    EXPECT_EQ(status, 400) << bad.dump() << " -> " << text;
    EXPECT_TRUE(json::parse(text)["error"].is_string()) << text;
  }
  json off = ollama_generate(0);
  off["logprobs"] = false;
  EXPECT_FALSE(whole("/api/generate", off).contains("logprobs"));
}

json openai_chat(int top) {
  return {{"model", "plain"}, {"messages", {{{"role", "user"}, {"content", "Tell me about rivers"}}}},
          {"temperature", 0}, {"max_tokens", 12},
          {"logprobs", true}, {"top_logprobs", top}};
}

// OpenAI's routes keep llama.cpp's repeat penalty (Ollama's default), so the sampled token may
// be another than the raw distribution's top one: entries are checked without that.
TEST_F(Logprobs, OpenAIChatWhole) {
  const json r = whole("/v1/chat/completions", openai_chat(4));
  const json& c = r["choices"][0];
  ASSERT_TRUE(c["logprobs"].is_object()) << r.dump();
  EXPECT_TRUE(c["logprobs"].contains("refusal") && c["logprobs"]["refusal"].is_null());
  const json& content = c["logprobs"]["content"];
  EXPECT_EQ(content.size(), r["usage"]["completion_tokens"].get<size_t>());
  for (const auto& e : content) expect_entry(e, 4, false);
  EXPECT_EQ(spelled(content), c["message"]["content"]);

  json plain = openai_chat(0);
  plain.erase("logprobs");
  plain.erase("top_logprobs");
  EXPECT_TRUE(whole("/v1/chat/completions", plain)["choices"][0]["logprobs"].is_null());
}

TEST_F(Logprobs, OpenAIChatStreamed) {
  const auto events = sse("/v1/chat/completions", openai_chat(0));
  ASSERT_GE(events.size(), 3u);
  EXPECT_TRUE(events[0]["choices"][0]["logprobs"].is_null()) << "the role chunk has no token";
  size_t entries = 0;
  std::string text, tokens;
  for (size_t i = 1; i + 2 < events.size(); ++i) {
    const json& c = events[i]["choices"][0];
    text += c["delta"].value("content", "");
    if (c["logprobs"].is_null()) continue;  // text whose token's last byte is still held back
    for (const auto& e : c["logprobs"]["content"]) {
      expect_entry(e, 0, false);
      EXPECT_EQ(e["top_logprobs"], json::array());
    }
    entries += c["logprobs"]["content"].size();
    tokens += spelled(c["logprobs"]["content"]);
    EXPECT_EQ(text.compare(0, tokens.size(), tokens), 0) << events[i].dump();
  }
  EXPECT_EQ(tokens, text);
  const json& finish = events[events.size() - 2];
  EXPECT_TRUE(finish["choices"][0]["logprobs"].is_null());
  const json w = whole("/v1/chat/completions", openai_chat(0));
  EXPECT_EQ(entries, w["usage"]["completion_tokens"].get<size_t>());
  EXPECT_EQ(text, w["choices"][0]["message"]["content"]);
}

TEST_F(Logprobs, OpenAILegacyCompletions) {
  const json body = {
      {"model", "plain"}, {"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", 8}, {"logprobs", 2}};
  const json r = whole("/v1/completions", body);
  const json& lp = r["choices"][0]["logprobs"];
  const std::string text = r["choices"][0]["text"];
  ASSERT_EQ(lp["tokens"].size(), r["usage"]["completion_tokens"].get<size_t>()) << r.dump();
  ASSERT_EQ(lp["token_logprobs"].size(), lp["tokens"].size());
  ASSERT_EQ(lp["top_logprobs"].size(), lp["tokens"].size());
  ASSERT_EQ(lp["text_offset"].size(), lp["tokens"].size());
  std::string joined;
  for (size_t i = 0; i < lp["tokens"].size(); ++i) {
    EXPECT_EQ(lp["text_offset"][i], joined.size()) << "ASCII text: characters are bytes";
    joined += lp["tokens"][i].get<std::string>();
    EXPECT_LE(lp["top_logprobs"][i].size(), 2u);
    EXPECT_GE(lp["top_logprobs"][i].size(), 1u);
  }
  EXPECT_EQ(joined, text);

  size_t streamed = 0;
  json offsets = json::array();
  const auto events = sse("/v1/completions", body);
  for (const auto& e : events) {
    if (e == "[DONE]" || e["choices"][0]["logprobs"].is_null()) continue;
    streamed += e["choices"][0]["logprobs"]["tokens"].size();
    for (const auto& o : e["choices"][0]["logprobs"]["text_offset"]) offsets.push_back(o);
  }
  EXPECT_EQ(streamed, lp["tokens"].size());
  EXPECT_EQ(offsets, lp["text_offset"]) << "a stream's offsets go on across its chunks";

  auto [status, text400] = server_->post("/v1/completions", {{"model", "plain"}, {"prompt", "x"}, {"logprobs", 6}});
  EXPECT_EQ(status, 400) << text400;
}

}  // namespace
}  // namespace ebb::test
