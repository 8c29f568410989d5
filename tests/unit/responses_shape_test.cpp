// The Responses API's response object and stream events: the SSE framing byte for byte, the
// events' order and numbering, the output items (reasoning, message, function calls) whole and
// streamed, incomplete and failed responses. Keys come out sorted (nlohmann::json objects are maps).
#include "api/responses_shape.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using ebb::MessageDelta;
using ebb::api::responses_usage;
using ebb::api::ResponsesShape;
using json = nlohmann::json;

const json kDone = {{"done_reason", "stop"}, {"prompt_tokens", 12}, {"prompt_eval_count", 10}, {"eval_count", 5}};
const json kCut = {{"done_reason", "length"}, {"prompt_tokens", 12}, {"prompt_eval_count", 12}, {"eval_count", 3}};
const json kSettings = {{"store", false}};

// Item ids that say their order: msg_1, rs_2, ...
ebb::api::ResponsesOutput::IdSource counting_ids() {
  auto n = std::make_shared<int>(0);
  return [n](const std::string& prefix) { return prefix + std::to_string(++*n); };
}

ResponsesShape shape() { return ResponsesShape("tiny", kSettings, "resp_X", 1700000000, counting_ids()); }

// Each "event: TYPE\ndata: JSON\n\n" of a stream; checks that the event line names data's type.
std::vector<json> events(const std::string& text) {
  std::vector<json> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    const size_t end = text.find("\n\n", at);
    if (text.compare(at, 7, "event: ") != 0 || nl == std::string::npos || end == std::string::npos ||
        text.compare(nl + 1, 6, "data: ") != 0) {
      ADD_FAILURE() << "not an 'event:' and 'data:' pair: " << text.substr(at);
      break;
    }
    json data = json::parse(text.substr(nl + 7, end - nl - 7));
    EXPECT_EQ(text.substr(at + 7, nl - at - 7), data["type"]) << "the event line names the data's type";
    out.push_back(std::move(data));
    at = end + 2;
  }
  return out;
}

std::vector<std::string> types(const std::vector<json>& es) {
  std::vector<std::string> out;
  for (const auto& e : es) out.push_back(e["type"]);
  return out;
}

// A whole stream: opening, a chunk per delta, then final (or error), in that order (the operands
// of + are not sequenced).
std::string stream(const ResponsesShape& s, const std::vector<MessageDelta>& deltas, const json& done,
                   const char* error = nullptr) {
  std::string text = s.opening();
  for (const auto& d : deltas) text += s.chunk(d);
  text += error ? s.error(error) : s.final(done, {});
  return text;
}

MessageDelta thinking(const std::string& text) {
  MessageDelta d;
  d.thinking = text;
  return d;
}

MessageDelta calls(json tool_calls) {
  MessageDelta d;
  d.tool_calls = std::move(tool_calls);
  return d;
}

TEST(ResponsesShape, StreamBytes) {
  const auto s = shape();
  EXPECT_EQ(s.content_type(), "text/event-stream");
  const std::string in_progress =
      R"({"created_at":1700000000,"error":null,"id":"resp_X","incomplete_details":null,"model":"tiny",)"
      R"("object":"response","output":[],"status":"in_progress","store":false,"usage":null})";
  EXPECT_EQ(s.opening(), "event: response.created\ndata: {\"response\":" + in_progress +
                             ",\"sequence_number\":0,\"type\":\"response.created\"}\n\n"
                             "event: response.in_progress\ndata: {\"response\":" +
                             in_progress + ",\"sequence_number\":1,\"type\":\"response.in_progress\"}\n\n");
  EXPECT_EQ(s.chunk(MessageDelta::text("h\xC3\xA9")),
            "event: response.output_item.added\n"
            R"(data: {"item":{"content":[],"id":"msg_1","role":"assistant","status":"in_progress","type":"message"},)"
            R"("output_index":0,"sequence_number":2,"type":"response.output_item.added"})"
            "\n\n"
            "event: response.content_part.added\n"
            R"(data: {"content_index":0,"item_id":"msg_1","output_index":0,)"
            R"("part":{"annotations":[],"text":"","type":"output_text"},"sequence_number":3,)"
            R"("type":"response.content_part.added"})"
            "\n\n"
            "event: response.output_text.delta\n"
            "data: {\"content_index\":0,\"delta\":\"h\xC3\xA9\",\"item_id\":\"msg_1\",\"logprobs\":[],"
            "\"output_index\":0,\"sequence_number\":4,\"type\":\"response.output_text.delta\"}\n\n");
  const std::string item =
      R"({"content":[{"annotations":[],"text":"h\u00e9!","type":"output_text"}],"id":"msg_1","role":"assistant",)"
      R"("status":"completed","type":"message"})";
  EXPECT_EQ(s.chunk(MessageDelta::text("!")),
            "event: response.output_text.delta\n"
            R"(data: {"content_index":0,"delta":"!","item_id":"msg_1","logprobs":[],"output_index":0,)"
            R"("sequence_number":5,"type":"response.output_text.delta"})"
            "\n\n");
  const std::string final = s.final(kDone, {});
  const std::string usage = R"({"input_tokens":12,"input_tokens_details":{"cached_tokens":2},"output_tokens":5,)"
                            R"("output_tokens_details":{"reasoning_tokens":0},"total_tokens":17})";
  const auto e = events(final);
  ASSERT_EQ(types(e), (std::vector<std::string>{"response.output_text.done", "response.content_part.done",
                                                "response.output_item.done", "response.completed"}));
  EXPECT_EQ(e[0]["text"], "h\xC3\xA9!");
  EXPECT_EQ(e[1]["part"]["text"], "h\xC3\xA9!");
  EXPECT_EQ(e[2]["item"], json::parse(item));
  EXPECT_EQ(final.substr(final.find("event: response.completed")),
            "event: response.completed\n"
            R"(data: {"response":{"created_at":1700000000,"error":null,"id":"resp_X","incomplete_details":null,)"
            "\"model\":\"tiny\",\"object\":\"response\",\"output\":[" +
                json::parse(item).dump() + R"(],"status":"completed","store":false,"usage":)" + usage +
                R"(},"sequence_number":9,"type":"response.completed"})"
                "\n\n");
}

TEST(ResponsesShape, ReasoningTextAndToolCallsStreamInOrder) {
  const auto s = shape();
  const auto e = events(stream(s,
                               {thinking("Let me "), thinking("think."), MessageDelta::text("Checking."),
                                calls(json::parse(R"([{"name":"get_weather","arguments":{"city":"Paris"}},
                                                      {"name":"get_time","arguments":{},"id":"abc123XYZ"}])"))},
                               kDone));
  EXPECT_EQ(types(e), (std::vector<std::string>{
                          "response.created",
                          "response.in_progress",
                          "response.output_item.added",  // reasoning, 0
                          "response.reasoning_summary_part.added",
                          "response.reasoning_summary_text.delta",
                          "response.reasoning_summary_text.delta",
                          "response.reasoning_summary_text.done",
                          "response.reasoning_summary_part.done",
                          "response.output_item.done",
                          "response.output_item.added",  // message, 1
                          "response.content_part.added",
                          "response.output_text.delta",
                          "response.output_text.done",
                          "response.content_part.done",
                          "response.output_item.done",
                          "response.output_item.added",  // function call, 2
                          "response.function_call_arguments.delta",
                          "response.function_call_arguments.done",
                          "response.output_item.done",
                          "response.output_item.added",  // function call, 3
                          "response.function_call_arguments.delta",
                          "response.function_call_arguments.done",
                          "response.output_item.done",
                          "response.completed",
                      }));
  for (size_t i = 0; i < e.size(); ++i) EXPECT_EQ(e[i]["sequence_number"], i);
  EXPECT_EQ(e[2]["item"], json::parse(R"({"id":"rs_1","type":"reasoning","summary":[]})"));
  EXPECT_EQ(e[3]["part"], json::parse(R"({"type":"summary_text","text":""})"));
  EXPECT_EQ(e[5]["delta"], "think.");
  EXPECT_EQ(e[5]["summary_index"], 0);
  EXPECT_EQ(e[5]["item_id"], "rs_1");
  EXPECT_EQ(e[6]["text"], "Let me think.");
  EXPECT_EQ(e[7]["part"], json::parse(R"({"type":"summary_text","text":"Let me think."})"));
  EXPECT_EQ(
      e[8]["item"],
      json::parse(R"({"id":"rs_1","type":"reasoning","summary":[{"type":"summary_text","text":"Let me think."}]})"));
  EXPECT_EQ(e[9]["output_index"], 1);
  EXPECT_EQ(e[11]["item_id"], "msg_2");
  EXPECT_EQ(e[15]["item"], json::parse(R"({"id":"fc_3","type":"function_call","status":"in_progress",
                                           "call_id":"call_4","name":"get_weather","arguments":""})"));
  EXPECT_EQ(e[15]["output_index"], 2);
  EXPECT_EQ(e[16]["delta"], R"({"city":"Paris"})") << "arguments as JSON text";
  EXPECT_EQ(e[17]["arguments"], R"({"city":"Paris"})");
  EXPECT_EQ(e[17]["name"], "get_weather");
  EXPECT_EQ(e[18]["item"]["status"], "completed");
  EXPECT_EQ(e[18]["item"]["arguments"], R"({"city":"Paris"})");
  EXPECT_EQ(e[19]["item"]["call_id"], "abc123XYZ") << "the model's own call id";
  EXPECT_EQ(e[19]["output_index"], 3);
  const json& r = e.back()["response"];
  EXPECT_EQ(r["status"], "completed");
  ASSERT_EQ(r["output"].size(), 4u);
  EXPECT_EQ(r["output"][0], e[8]["item"]);
  EXPECT_EQ(r["output"][1], e[14]["item"]);
  EXPECT_EQ(r["output"][2], e[18]["item"]);
  EXPECT_EQ(r["output"][3], e[22]["item"]);
}

TEST(ResponsesShape, WholeEqualsTheStreamedResponse) {
  MessageDelta m = thinking("hmm");
  m.content = "Sure.";
  m.tool_calls = json::parse(R"([{"name":"f","arguments":{"x":1}}])");
  const json whole = shape().whole(m, kDone, {});
  const auto s = shape();
  const auto e = events(stream(s, {m}, kDone));
  EXPECT_EQ(whole, e.back()["response"]);
  EXPECT_EQ(whole["output"][0]["type"], "reasoning");
  EXPECT_EQ(whole["output"][1]["content"][0]["text"], "Sure.");
  EXPECT_EQ(whole["output"][2], json::parse(R"({"id":"fc_3","type":"function_call","status":"completed",
                                                "call_id":"call_4","name":"f","arguments":"{\"x\":1}"})"));
}

TEST(ResponsesShape, WholeTextResponse) {
  const json r = shape().whole(MessageDelta::text("Hello"), kDone, {});
  EXPECT_EQ(r, json::parse(R"({
    "id": "resp_X", "object": "response", "created_at": 1700000000, "status": "completed",
    "error": null, "incomplete_details": null, "model": "tiny", "store": false,
    "output": [{"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello", "annotations": []}]}],
    "usage": {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 2}, "output_tokens": 5,
              "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 17}})"));
}

TEST(ResponsesShape, AnEmptyAnswerHasAnEmptyMessage) {
  const json r = shape().whole(MessageDelta{}, kDone, {});
  ASSERT_EQ(r["output"].size(), 1u);
  EXPECT_EQ(r["output"][0]["content"][0]["text"], "");
  const auto s = shape();
  const auto e = events(stream(s, {}, kDone));
  EXPECT_EQ(e.back()["response"]["output"], r["output"]);
  EXPECT_EQ(e[2]["type"], "response.output_item.added");
}

TEST(ResponsesShape, CutByMaxOutputTokensIsIncomplete) {
  const json r = shape().whole(MessageDelta::text("Once upon"), kCut, {});
  EXPECT_EQ(r["status"], "incomplete");
  EXPECT_EQ(r["incomplete_details"], json::parse(R"({"reason":"max_output_tokens"})"));
  EXPECT_EQ(r["output"][0]["status"], "incomplete");
  const auto s = shape();
  const auto e = events(stream(s, {MessageDelta::text("Once upon")}, kCut));
  EXPECT_EQ(e.back()["type"], "response.incomplete");
  EXPECT_EQ(e.back()["response"], r);
  EXPECT_EQ(e[e.size() - 2]["item"]["status"], "incomplete");

  // Only reasoning when cut: the reasoning item alone.
  const json t = shape().whole(thinking("zzz"), kCut, {});
  ASSERT_EQ(t["output"].size(), 1u);
  EXPECT_EQ(t["output"][0]["type"], "reasoning");
}

TEST(ResponsesShape, ErrorMidStreamIsResponseFailed) {
  const auto s = shape();
  const auto e = events(stream(s, {MessageDelta::text("Hel")}, kDone, "the runner died"));
  ASSERT_EQ(e.back()["type"], "response.failed");
  EXPECT_EQ(e.back()["sequence_number"], e.size() - 1);
  const json& r = e.back()["response"];
  EXPECT_EQ(r["status"], "failed");
  EXPECT_EQ(r["error"], json::parse(R"({"code":"server_error","message":"the runner died"})"));
  ASSERT_EQ(r["output"].size(), 1u) << "the output so far";
  EXPECT_EQ(r["output"][0]["status"], "in_progress");
  EXPECT_EQ(r["output"][0]["content"][0]["text"], "Hel");
  EXPECT_TRUE(r["usage"].is_null());
}

TEST(ResponsesShape, Usage) {
  EXPECT_EQ(responses_usage(kDone), json::parse(R"({"input_tokens":12,"input_tokens_details":{"cached_tokens":2},
                                                    "output_tokens":5,"output_tokens_details":{"reasoning_tokens":0},
                                                    "total_tokens":17})"));
  EXPECT_EQ(responses_usage(json::object())["total_tokens"], 0);
}

TEST(ResponsesShape, RandomIds) {
  ResponsesShape a("m", kSettings), b("m", kSettings);
  EXPECT_EQ(a.id().rfind("resp_", 0), 0u);
  EXPECT_EQ(a.id().size(), 5u + 24u);
  EXPECT_NE(a.id(), b.id());
  const json r = a.whole(calls(json::parse(R"([{"name":"f","arguments":{}}])")), kDone, {});
  EXPECT_EQ(r["output"][0]["id"].get<std::string>().rfind("fc_", 0), 0u);
  EXPECT_EQ(r["output"][0]["call_id"].get<std::string>().rfind("call_", 0), 0u);
  EXPECT_EQ(a.whole(MessageDelta::text("x"), kDone, {})["output"][0]["id"].get<std::string>().rfind("msg_", 0), 0u);
}

}  // namespace
