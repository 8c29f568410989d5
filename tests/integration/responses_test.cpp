// OpenAI's Responses API (POST /v1/responses, stateless) through real HTTP on a real serve: text,
// the streamed events and their order, max_output_tokens, a function call and its output in the
// next request, reasoning, json_schema, errors, and a client that hangs up mid-stream.
#include "serve_fixture.h"

namespace ebb::test {
namespace {

struct Answer {
  int status = 0;
  std::string body;
  std::string content_type;
  json parsed() const { return json::parse(body, nullptr, false); }
};

Answer post(const Server& s, const std::string& body) {
  auto c = s.client();
  auto r = c.Post("/v1/responses", body, "application/json");
  if (!r) return {};
  return {r->status, r->body, r->get_header_value("Content-Type")};
}
Answer post(const Server& s, const json& body) { return post(s, body.dump()); }

// The stream's events, each "event: TYPE\ndata: JSON\n\n" with the same type in both lines.
std::vector<json> sse_events(const std::string& text) {
  std::vector<json> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t nl = text.find('\n', at);
    const size_t end = text.find("\n\n", at);
    if (text.compare(at, 7, "event: ") != 0 || end == std::string::npos || text.compare(nl + 1, 6, "data: ") != 0) {
      ADD_FAILURE() << "not an SSE event at " << at << ": " << text.substr(at);
      break;
    }
    json data = json::parse(text.substr(nl + 7, end - nl - 7));
    EXPECT_EQ(text.substr(at + 7, nl - at - 7), data.value("type", "")) << data.dump();
    out.push_back(std::move(data));
    at = end + 2;
  }
  return out;
}

void expect_openai_error(const Answer& a, int status, const std::string& message_part) {
  EXPECT_EQ(a.status, status) << a.body;
  EXPECT_EQ(a.content_type.rfind("application/json", 0), 0u) << a.content_type;
  const json e = a.parsed();
  ASSERT_TRUE(e.is_object() && e.value("error", json()).is_object()) << a.body;
  EXPECT_EQ(e["error"]["type"], status == 404 ? "not_found_error" : "invalid_request_error") << a.body;
  EXPECT_NE(e["error"].value("message", "").find(message_part), std::string::npos) << a.body;
}

json request(const std::string& model, json input, int max_output_tokens = 12) {
  return {{"model", model}, {"input", std::move(input)}, {"temperature", 0}, {"max_output_tokens", max_output_tokens}};
}

// The text of a response's message items.
std::string output_text(const json& r) {
  std::string text;
  for (const auto& item : r["output"])
    if (item["type"] == "message")
      for (const auto& part : item["content"]) text += part.value("text", "");
  return text;
}

// A response without what differs between two answers to one request: ids, time, and the
// cached part of the prompt.
json without_ids(json r) {
  r.erase("id");
  r.erase("created_at");
  r["usage"].erase("input_tokens_details");
  for (auto& item : r["output"]) item.erase("id");
  return r;
}

const json kWeatherTool = {
    {"type", "function"},
    {"name", "get_weather"},
    {"description", "The weather in a city"},
    {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}, {"required", {"city"}}}}};

// A random model never calls a tool by itself: a grammar (llama-server's extension) forces its
// output into Qwen 2.5's call format, and the parsed call must come out as a function_call item.
const char* kQwenCallGrammar =
    R"(root ::= "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"" city "\"}}\n</tool_call>")"
    "\n"
    R"(city ::= "Paris" | "Rome")";

class Responses : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new Server({"--device-memory", "8GiB"}, family_models()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static json ok(const json& body) {
    Answer a = post(*server_, body);
    EXPECT_EQ(a.status, 200) << body.dump() << " -> " << a.body;
    EXPECT_EQ(a.content_type.rfind("application/json", 0), 0u) << a.content_type;
    return a.parsed();
  }
  // A streamed answer's events; checks the content type and the numbering.
  static std::vector<json> stream(json body) {
    body["stream"] = true;
    Answer a = post(*server_, body);
    EXPECT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.content_type.rfind("text/event-stream", 0), 0u) << a.content_type;
    auto events = sse_events(a.body);
    for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i]["sequence_number"], i) << events[i].dump();
    EXPECT_GE(events.size(), 3u);
    return events;
  }
  static Server* server_;
};
Server* Responses::server_ = nullptr;

TEST_F(Responses, Text) {
  json body = request("plain", "Tell me about rivers");
  body["instructions"] = "Answer in one line.";
  body["metadata"] = {{"session", "a"}};
  body["store"] = true;
  const json r = ok(body);
  EXPECT_EQ(r["id"].get<std::string>().rfind("resp_", 0), 0u) << r.dump();
  EXPECT_EQ(r["object"], "response");
  EXPECT_GT(r["created_at"].get<int64_t>(), 1700000000);
  EXPECT_EQ(r["model"], "plain");
  EXPECT_TRUE(r["status"] == "completed" || r["status"] == "incomplete") << r.dump();
  EXPECT_TRUE(r["error"].is_null());
  ASSERT_EQ(r["output"].size(), 1u) << r.dump();
  const json& m = r["output"][0];
  EXPECT_EQ(m["type"], "message");
  EXPECT_EQ(m["id"].get<std::string>().rfind("msg_", 0), 0u);
  EXPECT_EQ(m["role"], "assistant");
  EXPECT_EQ(m["content"][0]["type"], "output_text");
  EXPECT_TRUE(m["content"][0]["text"].is_string());
  EXPECT_EQ(m["content"][0]["annotations"], json::array());
  const json& u = r["usage"];
  EXPECT_GT(u["input_tokens"].get<int>(), 5);
  EXPECT_GT(u["output_tokens"].get<int>(), 0);
  EXPECT_LE(u["output_tokens"].get<int>(), 12);
  EXPECT_EQ(u["total_tokens"], u["input_tokens"].get<int>() + u["output_tokens"].get<int>());
  EXPECT_TRUE(u["input_tokens_details"]["cached_tokens"].is_number_integer());
  EXPECT_EQ(u["output_tokens_details"]["reasoning_tokens"], 0);
  // The request's settings, echoed.
  EXPECT_EQ(r["instructions"], "Answer in one line.");
  EXPECT_EQ(r["temperature"], 0);
  EXPECT_EQ(r["top_p"], 1.0);
  EXPECT_EQ(r["max_output_tokens"], 12);
  EXPECT_EQ(r["metadata"], body["metadata"]);
  EXPECT_EQ(r["store"], false) << "nothing is stored";
  EXPECT_TRUE(r["previous_response_id"].is_null());
  EXPECT_EQ(r["text"], json::parse(R"({"format":{"type":"text"}})"));
  EXPECT_EQ(r["tools"], json::array());
  EXPECT_EQ(r["tool_choice"], "auto");

  // instructions are a system message before the input.
  const json plain = ok(request("plain", "Tell me about rivers"));
  EXPECT_GT(r["usage"]["input_tokens"].get<int>(), plain["usage"]["input_tokens"].get<int>() + 3);
  // The same conversation as input items.
  const json items = ok(request("plain", json::parse(R"([{"role":"developer","content":"Answer in one line."},
      {"type":"message","role":"user","content":[{"type":"input_text","text":"Tell me about rivers"}]}])")));
  EXPECT_EQ(items["usage"]["input_tokens"], r["usage"]["input_tokens"]);
  EXPECT_EQ(output_text(items), output_text(r)) << "temperature 0: the same prompt, the same text";
}

TEST_F(Responses, StreamedEventsInOrder) {
  const json body = request("plain", "Write about the sea", 16);
  const json whole = ok(body);
  const auto events = stream(body);
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e["type"]);
  ASSERT_GE(types.size(), 9u);
  EXPECT_EQ(types[0], "response.created");
  EXPECT_EQ(types[1], "response.in_progress");
  EXPECT_EQ(events[0]["response"]["status"], "in_progress");
  EXPECT_EQ(events[0]["response"]["output"], json::array());
  EXPECT_EQ(types[2], "response.output_item.added");
  EXPECT_EQ(types[3], "response.content_part.added");
  const size_t n = types.size();
  EXPECT_EQ(types[n - 4], "response.output_text.done");
  EXPECT_EQ(types[n - 3], "response.content_part.done");
  EXPECT_EQ(types[n - 2], "response.output_item.done");
  EXPECT_EQ(types[n - 1], whole["status"] == "completed" ? "response.completed" : "response.incomplete");
  const std::string id = events[0]["response"]["id"];
  const std::string item = events[2]["item"]["id"];
  std::string text;
  for (size_t i = 4; i + 4 < n; ++i) {
    EXPECT_EQ(types[i], "response.output_text.delta");
    EXPECT_EQ(events[i]["item_id"], item);
    EXPECT_EQ(events[i]["output_index"], 0);
    EXPECT_EQ(events[i]["content_index"], 0);
    text += events[i]["delta"].get<std::string>();
  }
  EXPECT_EQ(text, output_text(whole)) << "temperature 0: the same text";
  EXPECT_EQ(events[n - 4]["text"], text);
  const json& last = events[n - 1]["response"];
  EXPECT_EQ(last["id"], id) << "one id for the whole stream";
  EXPECT_EQ(last["output"][0], events[n - 2]["item"]);
  EXPECT_EQ(without_ids(last), without_ids(whole)) << "the streamed response is the whole one";
}

TEST_F(Responses, MaxOutputTokensIsIncomplete) {
  const json body = request("plain", "Go on and on", 3);
  const json r = ok(body);
  EXPECT_EQ(r["status"], "incomplete") << r.dump();
  EXPECT_EQ(r["incomplete_details"], json::parse(R"({"reason":"max_output_tokens"})"));
  EXPECT_EQ(r["output"][0]["status"], "incomplete");
  EXPECT_EQ(r["usage"]["output_tokens"], 3);
  const auto events = stream(body);
  EXPECT_EQ(events.back()["type"], "response.incomplete");
  EXPECT_EQ(without_ids(events.back()["response"]), without_ids(r));
}

TEST_F(Responses, FunctionCallRoundTrip) {
  json body = request("qwen25", "What is the weather in Paris?", 160);
  body["tools"] = {kWeatherTool};
  body["grammar"] = kQwenCallGrammar;
  const json r = ok(body);
  EXPECT_EQ(r["status"], "completed") << r.dump();
  EXPECT_EQ(r["tools"], body["tools"]);
  ASSERT_EQ(r["output"].size(), 1u) << "only the call: " << r.dump();
  const json call = r["output"][0];
  EXPECT_EQ(call["type"], "function_call");
  EXPECT_EQ(call["status"], "completed");
  EXPECT_EQ(call["id"].get<std::string>().rfind("fc_", 0), 0u) << call.dump();
  EXPECT_EQ(call["call_id"].get<std::string>().rfind("call_", 0), 0u) << call.dump();
  EXPECT_EQ(call["name"], "get_weather");
  ASSERT_TRUE(call["arguments"].is_string()) << "arguments are JSON text: " << call.dump();
  const std::string city = json::parse(call["arguments"].get<std::string>()).value("city", "");
  EXPECT_TRUE(city == "Paris" || city == "Rome") << call.dump();

  // Streamed: the call's item, its arguments, and the same call.
  const auto events = stream(body);
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e["type"]);
  EXPECT_EQ(types,
            (std::vector<std::string>{"response.created", "response.in_progress", "response.output_item.added",
                                      "response.function_call_arguments.delta", "response.function_call_arguments.done",
                                      "response.output_item.done", "response.completed"}));
  EXPECT_EQ(events[2]["item"]["status"], "in_progress");
  EXPECT_EQ(events[4]["arguments"], call["arguments"]) << "greedy: the same call";
  EXPECT_EQ(events[4]["name"], "get_weather");
  EXPECT_EQ(events[5]["item"]["call_id"], events[2]["item"]["call_id"]);

  // The next request: the whole conversation, the call as it came and the tool's output.
  json next = request("qwen25", json::array({{{"role", "user"}, {"content", "What is the weather in Paris?"}}}), 4);
  next["tools"] = {kWeatherTool};
  next["input"].push_back(call);
  next["input"].push_back({{"type", "function_call_output"}, {"call_id", call["call_id"]}, {"output", "18 degrees"}});
  const json second = ok(next);
  EXPECT_EQ(second["status"], "incomplete") << "4 tokens of an answer: " << second.dump();
  EXPECT_EQ(second["output"][0]["type"], "message") << second.dump();
  EXPECT_GT(second["usage"]["input_tokens"].get<int>(), r["usage"]["input_tokens"].get<int>() + 10)
      << "the call and its output are in the prompt";
}

// DeepSeek-R1's template opens the reasoning block; the random model never closes it in 24
// tokens, so everything it writes is reasoning.
TEST_F(Responses, ReasoningOnAThinkingModel) {
  const json body = request("r1", "Why is the sky blue?", 24);
  const json r = ok(body);
  ASSERT_GE(r["output"].size(), 1u) << r.dump();
  const json& reasoning = r["output"][0];
  EXPECT_EQ(reasoning["type"], "reasoning") << r.dump();
  EXPECT_EQ(reasoning["id"].get<std::string>().rfind("rs_", 0), 0u);
  ASSERT_EQ(reasoning["summary"].size(), 1u);
  EXPECT_EQ(reasoning["summary"][0]["type"], "summary_text");
  const std::string thought = reasoning["summary"][0]["text"];
  EXPECT_FALSE(thought.empty());

  std::string streamed;
  for (const auto& e : stream(body)) {
    EXPECT_NE(e["type"], "response.output_text.delta") << e.dump();
    if (e["type"] == "response.reasoning_summary_text.delta") {
      EXPECT_EQ(e["summary_index"], 0);
      streamed += e["delta"].get<std::string>();
    }
  }
  EXPECT_EQ(streamed, thought);

  // reasoning.effort "none" turns thinking off: no reasoning item.
  json off = body;
  off["reasoning"] = {{"effort", "none"}};
  const json o = ok(off);
  EXPECT_EQ(o["reasoning"]["effort"], "none");
  for (const auto& item : o["output"]) EXPECT_NE(item["type"], "reasoning") << o.dump();

  // The reasoning goes back as an input item before the assistant's answer.
  json next = request("r1", json::array({{{"role", "user"}, {"content", "Why is the sky blue?"}}}), 2);
  next["input"].push_back(reasoning);
  next["input"].push_back({{"role", "assistant"}, {"content", "Rayleigh scattering."}});
  next["input"].push_back({{"role", "user"}, {"content", "And sunsets?"}});
  EXPECT_EQ(post(*server_, next).status, 200);
}

TEST_F(Responses, JsonSchema) {
  // A schema whose only value is an integer: a whole object, greedy.
  json body = request("plain", "A JSON object please", 64);
  const json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}, {"required", {"a"}}};
  body["text"] = {{"format", {{"type", "json_schema"}, {"name", "a"}, {"schema", schema}, {"strict", true}}}};
  const json r = ok(body);
  const json parsed = json::parse(output_text(r), nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << r.dump();
  EXPECT_TRUE(parsed["a"].is_number_integer()) << r.dump();
  EXPECT_EQ(r["text"], body["text"]);
}

TEST_F(Responses, Errors) {
  expect_openai_error(post(*server_, std::string("{not json")), 400, "invalid JSON");
  const Answer unknown = post(*server_, request("no-such-model", "hi"));
  expect_openai_error(unknown, 404, "model 'no-such-model' not found");
  EXPECT_EQ(unknown.parsed()["error"]["code"], "model_not_found");
  json stateful = request("plain", "and then?");
  stateful["previous_response_id"] = "resp_123";
  expect_openai_error(post(*server_, stateful), 400, "ebb's /v1/responses is stateless");
  const json image = request(
      "plain",
      json::parse(R"([{"role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,AA"}]}])"));
  expect_openai_error(post(*server_, image), 400, "images are not supported: ebb has no vision support yet");
  json web = request("plain", "news?");
  web["tools"] = {{{"type", "web_search"}}};
  expect_openai_error(post(*server_, web), 400, "tools of type 'web_search' are not supported");
  json tools = request("plain", "weather?");
  tools["tools"] = {kWeatherTool};
  expect_openai_error(post(*server_, tools), 400, "plain:latest does not support tools");
  json wrong = request("plain", "hi");
  wrong["max_output_tokens"] = "many";
  expect_openai_error(post(*server_, wrong), 400, "'max_output_tokens' must be a positive integer");
  // A 400 even when streaming: the runner checks the request before the stream starts.
  json bad_schema = request("plain", "hi");
  bad_schema["stream"] = true;
  bad_schema["text"] = {{"format", {{"type", "json_schema"}, {"name", "x"}, {"schema", {{"type", "nonsense"}}}}}};
  expect_openai_error(post(*server_, bad_schema), 400, "schema");
}

// A client that hangs up mid-stream cancels its request: the only slot is free for the next one.
TEST(ResponsesHangUp, FreesTheSlot) {
  const fs::path config =
      write_temp_file("[[model]]\nname = \"one\"\npath = \"" + (models_dir() / "tiny.gguf").string() +
                      "\"\nnum_ctx = 8192\nnum_parallel = 1\n");
  Server s({"--config", config.string()});
  const json next = request("one", "next", 16);
  auto busy = [&] {
    const json ps = s.get("/api/ps");
    for (const auto& m : ps["models"])
      if (m["name"] == "one") return m.value("busy", 0);
    return 0;
  };
  // What a 16-token answer costs on a free slot, on this machine, right now.
  ASSERT_EQ(post(s, next).status, 200);
  const auto t_ref = std::chrono::steady_clock::now();
  ASSERT_EQ(post(s, next).status, 200);
  const double reference = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_ref).count();

  // A generation that would run until its 8192-token context is full, abandoned after its first text.
  const json forever = {{"model", "one"},
                        {"input", "go on forever"},
                        {"stream", true},
                        {"temperature", 0},
                        {"max_output_tokens", 100000}};
  const int fd = send_post_raw(s.port(), "/v1/responses", forever);
  ASSERT_GE(fd, 0);
  std::string got;
  ASSERT_TRUE(read_until(fd, got, "response.output_text.delta")) << got;
  EXPECT_EQ(busy(), 1) << s.get("/api/ps").dump();
  ::close(fd);
  EXPECT_TRUE(wait_until([&] { return busy() == 0; })) << "the hung-up request still holds the model";

  const auto t0 = std::chrono::steady_clock::now();
  const Answer a = post(s, next);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(a.parsed()["usage"]["output_tokens"], 16) << a.body;
  // Had the abandoned request kept the slot, this one would have waited for ~8000 more tokens.
  EXPECT_LT(seconds, std::max(1.0, 50 * reference)) << "reference " << reference << " s";
  fs::remove(config);
}

}  // namespace
}  // namespace ebb::test
