// OpenAI's response objects and server-sent events, byte for byte where clients parse bytes (the
// SSE framing), field by field elsewhere. Keys come out sorted (nlohmann::json objects are maps).
#include "api/openai_shape.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace {

using ebb::MessageDelta;
using ebb::api::openai_error;
using ebb::api::openai_usage;
using ebb::api::OpenAIShape;
using json = nlohmann::json;
using Kind = OpenAIShape::Kind;

const json kDone = {{"type", "done"},          {"done_reason", "stop"}, {"prompt_tokens", 12},
                    {"prompt_eval_count", 10}, {"eval_count", 5},       {"eval_duration", 600}};

// The JSON of each "data: ..." event of a stream; [DONE] as the string "[DONE]".
std::vector<json> events(const std::string& text) {
  std::vector<json> out;
  size_t at = 0;
  while (at < text.size()) {
    EXPECT_EQ(text.compare(at, 6, "data: "), 0) << "every event starts with 'data: ': " << text.substr(at);
    const size_t end = text.find("\n\n", at);
    if (end == std::string::npos) {
      ADD_FAILURE() << "an event without its blank line: " << text.substr(at);
      break;
    }
    const std::string data = text.substr(at + 6, end - at - 6);
    out.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data));
    at = end + 2;
  }
  return out;
}

TEST(OpenAIShape, ChatStreamBytes) {
  OpenAIShape shape(Kind::Chat, "tiny", false, "chatcmpl-X", 1700000000);
  EXPECT_EQ(shape.content_type(), "text/event-stream");
  EXPECT_EQ(shape.opening(),
            "data: {\"choices\":[{\"delta\":{\"content\":\"\",\"role\":\"assistant\"},\"finish_reason\":null,"
            "\"index\":0,\"logprobs\":null}],\"created\":1700000000,\"id\":\"chatcmpl-X\",\"model\":\"tiny\","
            "\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_ebb\"}\n\n");
  EXPECT_EQ(shape.chunk(MessageDelta::text("h\xC3\xA9")),
            "data: {\"choices\":[{\"delta\":{\"content\":\"h\xC3\xA9\"},\"finish_reason\":null,\"index\":0,"
            "\"logprobs\":null}],\"created\":1700000000,\"id\":\"chatcmpl-X\",\"model\":\"tiny\","
            "\"object\":\"chat.completion.chunk\",\"system_fingerprint\":\"fp_ebb\"}\n\n");
  EXPECT_EQ(shape.final(kDone, {}),
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\",\"index\":0,\"logprobs\":null}],"
            "\"created\":1700000000,\"id\":\"chatcmpl-X\",\"model\":\"tiny\",\"object\":\"chat.completion.chunk\","
            "\"system_fingerprint\":\"fp_ebb\"}\n\n"
            "data: [DONE]\n\n");
}

TEST(OpenAIShape, IncludeUsageAddsAUsageChunkBeforeDone) {
  OpenAIShape shape(Kind::Chat, "tiny", true, "chatcmpl-X", 1);
  const auto chunk = events(shape.chunk(MessageDelta::text("a")));
  ASSERT_EQ(chunk.size(), 1u);
  EXPECT_TRUE(chunk[0].contains("usage") && chunk[0]["usage"].is_null()) << "null in every other chunk, as OpenAI";
  const auto last = events(
      shape.final({{"done_reason", "length"}, {"prompt_tokens", 12}, {"prompt_eval_count", 4}, {"eval_count", 3}}, {}));
  ASSERT_EQ(last.size(), 3u);
  EXPECT_EQ(last[0]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(last[1]["choices"], json::array());
  EXPECT_EQ(last[1]["object"], "chat.completion.chunk");
  EXPECT_EQ(last[1]["id"], "chatcmpl-X");
  EXPECT_EQ(last[1]["usage"], json::parse(R"({"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,
                                              "prompt_tokens_details":{"cached_tokens":8}})"));
  EXPECT_EQ(last[2], "[DONE]");
}

TEST(OpenAIShape, ReasoningAndToolCallDeltas) {
  OpenAIShape shape(Kind::Chat, "tiny", false, "chatcmpl-X", 1);
  MessageDelta thinking;
  thinking.thinking = "hmm";
  auto e = events(shape.chunk(thinking));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]["choices"][0]["delta"], json({{"reasoning_content", "hmm"}}));

  MessageDelta call;
  call.tool_calls = json::parse(R"([{"index":0,"name":"get_weather","arguments":{"city":"Paris"}},
                                    {"index":1,"name":"f","arguments":{},"id":"abc123xyz"}])");
  e = events(shape.chunk(call));
  ASSERT_EQ(e.size(), 1u);
  const json calls = e[0]["choices"][0]["delta"]["tool_calls"];
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["index"], 0);
  EXPECT_EQ(calls[0]["type"], "function");
  EXPECT_EQ(calls[0]["function"], json({{"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}}))
      << "arguments as a JSON string";
  EXPECT_TRUE(std::regex_match(calls[0]["id"].get<std::string>(), std::regex("call_[A-Za-z0-9]{24}")))
      << calls[0]["id"];
  EXPECT_EQ(calls[1]["index"], 1);
  EXPECT_EQ(calls[1]["id"], "abc123xyz") << "the model's own id is kept";
  EXPECT_EQ(calls[1]["function"]["arguments"], "{}");

  e = events(shape.final(kDone, {}));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0]["choices"][0]["finish_reason"], "tool_calls");
}

TEST(OpenAIShape, WholeChatCompletion) {
  OpenAIShape shape(Kind::Chat, "tiny", false, "chatcmpl-X", 1700000000);
  MessageDelta m = MessageDelta::text("hello");
  m.thinking = "because";
  const json j = shape.whole(m, kDone, {});
  EXPECT_EQ(j, json::parse(R"({
    "id": "chatcmpl-X", "object": "chat.completion", "created": 1700000000, "model": "tiny",
    "system_fingerprint": "fp_ebb",
    "choices": [{"index": 0, "logprobs": null, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "hello", "reasoning_content": "because"}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17,
              "prompt_tokens_details": {"cached_tokens": 2}}})"));

  MessageDelta calls;
  calls.tool_calls = json::parse(R"([{"index":0,"name":"f","arguments":{"x":1}}])");
  const json t = shape.whole(calls, {{"done_reason", "stop"}}, {});
  const json& msg = t["choices"][0]["message"];
  EXPECT_EQ(t["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_TRUE(msg["content"].is_null()) << "a message that only calls tools has null content, as OpenAI's";
  EXPECT_FALSE(msg.contains("reasoning_content"));
  ASSERT_EQ(msg["tool_calls"].size(), 1u);
  EXPECT_FALSE(msg["tool_calls"][0].contains("index")) << "index is for stream deltas";
  EXPECT_EQ(msg["tool_calls"][0]["function"]["arguments"], R"({"x":1})");
  EXPECT_EQ(shape.whole(MessageDelta::text("x"), {{"done_reason", "length"}}, {})["choices"][0]["finish_reason"],
            "length");
  EXPECT_EQ(shape.whole(calls, {{"done_reason", "length"}}, {})["choices"][0]["finish_reason"], "length")
      << "max_tokens cut the answer, calls and all";
}

TEST(OpenAIShape, Completion) {
  OpenAIShape shape(Kind::Completion, "tiny", false, "cmpl-X", 5);
  EXPECT_EQ(shape.opening(), "") << "completions have no role chunk";
  EXPECT_EQ(shape.chunk(MessageDelta::text("Once")),
            "data: {\"choices\":[{\"finish_reason\":null,\"index\":0,\"logprobs\":null,\"text\":\"Once\"}],"
            "\"created\":5,\"id\":\"cmpl-X\",\"model\":\"tiny\",\"object\":\"text_completion\","
            "\"system_fingerprint\":\"fp_ebb\"}\n\n");
  const auto last = events(shape.final({{"done_reason", "length"}}, {}));
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(last[0]["choices"][0]["text"], "");
  EXPECT_EQ(last[1], "[DONE]");
  const json j = shape.whole(MessageDelta::text("upon a time"), kDone, {});
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "upon a time");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(j["usage"]["completion_tokens"], 5);
}

TEST(OpenAIShape, IdsAndCreated) {
  OpenAIShape chat(Kind::Chat, "tiny", false);
  OpenAIShape other(Kind::Chat, "tiny", false);
  EXPECT_TRUE(std::regex_match(chat.id(), std::regex("chatcmpl-[A-Za-z0-9]{24}"))) << chat.id();
  EXPECT_NE(chat.id(), other.id());
  EXPECT_TRUE(std::regex_match(OpenAIShape(Kind::Completion, "t", false).id(), std::regex("cmpl-[A-Za-z0-9]{24}")));
  // Every chunk of one stream carries the same id and created.
  const json a = events(chat.opening())[0], b = events(chat.chunk(MessageDelta::text("x")))[0];
  EXPECT_EQ(a["id"], chat.id());
  EXPECT_EQ(b["id"], chat.id());
  EXPECT_EQ(a["created"], b["created"]);
  EXPECT_GT(a["created"].get<int64_t>(), 1700000000);
}

TEST(OpenAIShape, Errors) {
  OpenAIShape shape(Kind::Chat, "tiny", false, "chatcmpl-X", 1);
  EXPECT_EQ(shape.error("runner died"),
            "data: {\"error\":{\"code\":null,\"message\":\"runner died\",\"param\":null,\"type\":\"api_error\"}}\n\n");
  EXPECT_EQ(openai_error(400, "bad")["error"]["type"], "invalid_request_error");
  EXPECT_EQ(openai_error(404, "model 'x' not found"),
            json::parse(R"({"error":{"message":"model 'x' not found","type":"not_found_error","param":null,
                                     "code":"model_not_found"}})"));
  EXPECT_EQ(openai_error(503, "no room")["error"]["type"], "api_error");
  EXPECT_EQ(openai_error(500, "x")["error"]["code"], nullptr);
}

TEST(OpenAIShape, UsageWithoutPromptTokens) {
  // A runner's done message without prompt_tokens (a request cancelled early): the evaluated count.
  EXPECT_EQ(openai_usage({{"prompt_eval_count", 4}, {"eval_count", 1}}),
            json::parse(R"({"prompt_tokens":4,"completion_tokens":1,"total_tokens":5,
                            "prompt_tokens_details":{"cached_tokens":0}})"));
}

TEST(OpenAIShape, InvalidUtf8IsReplacedNotThrown) {
  OpenAIShape shape(Kind::Chat, "tiny", false, "c", 1);
  EXPECT_NE(shape.chunk(MessageDelta::text("\xFF")).find("\"content\":\"\xEF\xBF\xBD\""), std::string::npos);
}

}  // namespace
