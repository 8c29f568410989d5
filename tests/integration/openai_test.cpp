// OpenAI's API through real HTTP on a real serve: /v1/chat/completions (whole and streamed),
// /v1/completions, /v1/embeddings, /v1/models, the error shape. The official `openai` client
// drives the same routes in clients_test.cpp.
#include <algorithm>
#include <cstring>

#include "../common/json_prefix.h"
#include "serve_fixture.h"

namespace ebb::test {
namespace {

// The answer with its headers.
struct Answer {
  int status = 0;
  std::string body;
  httplib::Headers headers;
  json parsed() const { return json::parse(body, nullptr, false); }
  std::string header(const char* name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

Answer post(const Server& s, const std::string& path, const std::string& body) {
  auto c = s.client();
  auto r = c.Post(path.c_str(), body, "application/json");
  if (!r) return {};
  return {r->status, r->body, r->headers};
}
Answer post(const Server& s, const std::string& path, const json& body) { return post(s, path, body.dump()); }
Answer get(const Server& s, const std::string& path) {
  auto c = s.client();
  auto r = c.Get(path.c_str());
  if (!r) return {};
  return {r->status, r->body, r->headers};
}

// The error object every /v1 error is: {"error": {"message", "type", "param", "code"}}.
void expect_openai_error(const Answer& a, int status, const std::string& type, const std::string& message_part) {
  EXPECT_EQ(a.status, status) << a.body;
  const json e = a.parsed();
  ASSERT_TRUE(e.is_object() && e.value("error", json()).is_object()) << a.body;
  EXPECT_EQ(e["error"]["type"], type) << a.body;
  EXPECT_TRUE(e["error"].contains("param") && e["error"]["param"].is_null()) << a.body;
  EXPECT_TRUE(e["error"].contains("code")) << a.body;
  EXPECT_NE(e["error"].value("message", "").find(message_part), std::string::npos) << a.body;
}

json user(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

json chat_body(const std::string& model, const std::string& text, int max_tokens = 12) {
  return {{"model", model}, {"messages", {user(text)}}, {"temperature", 0}, {"max_tokens", max_tokens}};
}

class OpenAI : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new Server({"--device-memory", "8GiB"}, family_models()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static json ok(const std::string& path, const json& body) {
    Answer a = post(*server_, path, body);
    EXPECT_EQ(a.status, 200) << path << " " << body.dump() << " -> " << a.body;
    EXPECT_EQ(a.header("Content-Type").rfind("application/json", 0), 0u) << a.header("Content-Type");
    return a.parsed();
  }
  // A streamed answer's events; checks the SSE framing and content type.
  static std::vector<json> stream(const std::string& path, json body) {
    body["stream"] = true;
    Answer a = post(*server_, path, body);
    EXPECT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(a.header("Content-Type").rfind("text/event-stream", 0), 0u) << a.header("Content-Type");
    auto events = sse_events(a.body);
    EXPECT_FALSE(events.empty());
    EXPECT_EQ(events.empty() ? json() : events.back(), "[DONE]") << "the stream ends with [DONE]";
    return events;
  }
  static Server* server_;
};
Server* OpenAI::server_ = nullptr;

TEST_F(OpenAI, ChatCompletion) {
  const json r = ok("/v1/chat/completions", chat_body("plain", "Tell me about rivers"));
  EXPECT_EQ(r["id"].get<std::string>().rfind("chatcmpl-", 0), 0u) << r.dump();
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_GT(r["created"].get<int64_t>(), 1700000000);
  EXPECT_EQ(r["model"], "plain");
  EXPECT_EQ(r["system_fingerprint"], "fp_ebb");
  ASSERT_EQ(r["choices"].size(), 1u);
  const json& c = r["choices"][0];
  EXPECT_EQ(c["index"], 0);
  EXPECT_EQ(c["message"]["role"], "assistant");
  EXPECT_TRUE(c["message"]["content"].is_string());
  EXPECT_FALSE(c["message"].contains("tool_calls"));
  EXPECT_TRUE(c.contains("logprobs") && c["logprobs"].is_null());
  EXPECT_TRUE(c["finish_reason"] == "stop" || c["finish_reason"] == "length") << c.dump();
  const json& u = r["usage"];
  EXPECT_GT(u["prompt_tokens"].get<int>(), 5);
  EXPECT_GT(u["completion_tokens"].get<int>(), 0);
  EXPECT_LE(u["completion_tokens"].get<int>(), 12);
  EXPECT_EQ(u["total_tokens"], u["prompt_tokens"].get<int>() + u["completion_tokens"].get<int>());
}

TEST_F(OpenAI, StreamedChatEqualsTheWholeOne) {
  const json body = chat_body("plain", "Write about the sea", 16);
  const json whole = ok("/v1/chat/completions", body);
  const auto events = stream("/v1/chat/completions", body);
  ASSERT_GE(events.size(), 3u);
  const std::string id = events[0]["id"];
  EXPECT_EQ(id.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant") << "the first delta carries the role";
  std::string content;
  json finish = nullptr;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const json& e = events[i];
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    EXPECT_EQ(e["id"], id) << "one id for the whole stream";
    EXPECT_EQ(e["model"], "plain");
    EXPECT_FALSE(e.contains("usage")) << "no usage unless stream_options.include_usage";
    ASSERT_EQ(e["choices"].size(), 1u) << e.dump();
    const json& c = e["choices"][0];
    EXPECT_TRUE(i == 0 || !c["delta"].contains("role")) << e.dump();
    content += c["delta"].value("content", "");
    if (!c["finish_reason"].is_null()) {
      EXPECT_EQ(i, events.size() - 2) << "finish_reason is in the last chunk";
      finish = c["finish_reason"];
    }
  }
  EXPECT_EQ(content, whole["choices"][0]["message"]["content"]) << "temperature 0: the same text";
  EXPECT_EQ(finish, whole["choices"][0]["finish_reason"]);
}

TEST_F(OpenAI, IncludeUsage) {
  json body = chat_body("plain", "Count the stars", 6);
  body["stream_options"] = {{"include_usage", true}};
  const json whole = ok("/v1/chat/completions", body);
  const auto events = stream("/v1/chat/completions", body);
  ASSERT_GE(events.size(), 3u);
  const json& usage_chunk = events[events.size() - 2];
  EXPECT_EQ(usage_chunk["choices"], json::array()) << usage_chunk.dump();
  EXPECT_EQ(usage_chunk["usage"]["completion_tokens"], 6);
  EXPECT_EQ(usage_chunk["usage"]["prompt_tokens"], whole["usage"]["prompt_tokens"])
      << "prompt_tokens counts the whole prompt, cached or not";
  EXPECT_EQ(usage_chunk["usage"]["total_tokens"], whole["usage"]["total_tokens"]);
  for (size_t i = 0; i + 2 < events.size(); ++i)
    EXPECT_TRUE(events[i].contains("usage") && events[i]["usage"].is_null()) << events[i].dump();
}

TEST_F(OpenAI, MaxTokensEndsWithLength) {
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    json body = {{"model", "plain"}, {"messages", {user("Go on and on")}}, {"temperature", 0}, {key, 3}};
    const json r = ok("/v1/chat/completions", body);
    EXPECT_EQ(r["choices"][0]["finish_reason"], "length") << r.dump();
    EXPECT_EQ(r["usage"]["completion_tokens"], 3);
  }
}

TEST_F(OpenAI, StopEndsTheTextBeforeTheStopString) {
  const json body = chat_body("plain", "Say many words", 24);
  const std::string text = ok("/v1/chat/completions", body)["choices"][0]["message"]["content"];
  ASSERT_GE(text.size(), 8u) << text;
  const std::string stop = text.substr(4, 3);
  json with_stop = body;
  with_stop["stop"] = json::array({stop});
  const json r = ok("/v1/chat/completions", with_stop);
  EXPECT_EQ(r["choices"][0]["message"]["content"], text.substr(0, text.find(stop))) << "stop: " << stop;
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  with_stop["stop"] = stop;  // a string, too
  EXPECT_EQ(ok("/v1/chat/completions", with_stop)["choices"][0]["message"]["content"], text.substr(0, text.find(stop)));
}

TEST_F(OpenAI, ResponseFormatGivesJson) {
  // A random model may write one string for ever; sampled with a few seeds, some answers end.
  // Every answer is JSON (a prefix of it when cut by max_tokens), and every one that ends is
  // a whole object.
  json body = chat_body("plain", "A JSON object please", 40);
  body["response_format"] = {{"type", "json_object"}};
  body["temperature"] = 1;
  int finished = 0;
  for (int seed = 1; seed <= 12 && finished == 0; ++seed) {
    body["seed"] = seed;
    const json r = ok("/v1/chat/completions", body);
    const std::string text = r["choices"][0]["message"]["content"];
    if (r["choices"][0]["finish_reason"] == "stop") {
      ++finished;
      EXPECT_TRUE(json::parse(text, nullptr, false).is_object()) << text;
    } else {
      EXPECT_TRUE(is_json_prefix(text)) << text;
    }
  }
  EXPECT_GT(finished, 0) << "no answer ended within 40 tokens with seeds 1 to 12";

  // A schema whose only value is an integer: a whole object, greedy.
  const json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}, {"required", {"a"}}};
  body["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", "a"}, {"schema", schema}}}};
  body["max_tokens"] = 64;
  body["temperature"] = 0;
  body.erase("seed");
  const json r = ok("/v1/chat/completions", body);
  const std::string text = r["choices"][0]["message"]["content"];
  const json parsed = json::parse(text, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << r.dump();
  EXPECT_TRUE(parsed["a"].is_number_integer()) << text;
}

const json kWeatherTool = {
    {"type", "function"},
    {"function",
     {{"name", "get_weather"},
      {"description", "The weather in a city"},
      {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}, {"required", {"city"}}}}}}};

TEST_F(OpenAI, ToolsAreRenderedForAFamilyModel) {
  json without = chat_body("qwen25", "What is the weather in Paris?", 4);
  json with = without;
  with["tools"] = {kWeatherTool};
  const json a = ok("/v1/chat/completions", with);
  const json b = ok("/v1/chat/completions", without);
  EXPECT_GT(a["usage"]["prompt_tokens"].get<int>(), b["usage"]["prompt_tokens"].get<int>() + 20)
      << "the tool's schema is in the prompt";

  // The next turn: the assistant's call (arguments a JSON string) and the tool's answer by id.
  json next = with;
  next["messages"].push_back({{"role", "assistant"},
                              {"content", nullptr},
                              {"tool_calls",
                               {{{"id", "call_abc"},
                                 {"type", "function"},
                                 {"function", {{"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}}}}}}});
  next["messages"].push_back({{"role", "tool"}, {"tool_call_id", "call_abc"}, {"content", "18 degrees and sunny"}});
  const json c = ok("/v1/chat/completions", next);
  EXPECT_GT(c["usage"]["prompt_tokens"].get<int>(), a["usage"]["prompt_tokens"].get<int>() + 10)
      << "the call and its result are in the prompt";

  // tool_choice naming the function, streamed: the stream is well formed whatever the model writes.
  json named = with;
  named["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_weather"}}}};
  named["max_tokens"] = 48;
  for (const auto& e : stream("/v1/chat/completions", named)) {
    if (e == "[DONE]") break;
    ASSERT_FALSE(e.contains("error")) << e.dump();
    for (const auto& call : e["choices"][0]["delta"].value("tool_calls", json::array())) {
      EXPECT_EQ(call["type"], "function");
      EXPECT_EQ(call["id"].get<std::string>().rfind("call", 0), 0u) << call.dump();
      EXPECT_TRUE(call["function"]["arguments"].is_string()) << call.dump();
    }
  }
}

// A random model never writes a tool call by itself: "grammar" (llama-server's extension) forces
// its output into the family's call format, and the parsed call must come out in OpenAI's shape.
std::string forced_call_grammar(const std::string& family) {
  const std::string city = "\ncity ::= \"Paris\" | \"Rome\"\n";
  const std::string args = R"("{\"city\": \"" city "\"}")";
  if (family == "nemo")  // Mistral's calls carry the model's own id
    return R"(root ::= "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " )" + args +
           R"( ", \"id\": \"abc123XYZ\"}]")" + city;
  return R"(root ::= "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " )" + args + R"( "}\n</tool_call>")" +
         city;
}

json forced_call(const std::string& family) {
  json body = chat_body(family, "What is the weather in Paris?", 160);  // the whole call, id included
  body["tools"] = {kWeatherTool};
  body["grammar"] = forced_call_grammar(family);
  return body;
}

void expect_weather_call(const json& call, const std::string& family) {
  EXPECT_EQ(call["type"], "function") << call.dump();
  EXPECT_EQ(call["function"]["name"], "get_weather") << call.dump();
  ASSERT_TRUE(call["function"]["arguments"].is_string()) << "arguments are a JSON string: " << call.dump();
  const json args = json::parse(call["function"]["arguments"].get<std::string>(), nullptr, false);
  EXPECT_TRUE(args.value("city", "") == "Paris" || args.value("city", "") == "Rome") << call.dump();
  if (family == "nemo")
    EXPECT_EQ(call["id"], "abc123XYZ") << "the model's own id";
  else
    EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u) << call.dump();
}

TEST_F(OpenAI, ForcedToolCall) {
  for (const std::string family : {"qwen25", "nemo"}) {
    SCOPED_TRACE(family);
    const json r = ok("/v1/chat/completions", forced_call(family));
    const json& c = r["choices"][0];
    EXPECT_EQ(c["finish_reason"], "tool_calls") << r.dump();
    EXPECT_TRUE(c["message"]["content"].is_null()) << "only a call: content is null, as OpenAI's";
    ASSERT_EQ(c["message"]["tool_calls"].size(), 1u) << r.dump();
    expect_weather_call(c["message"]["tool_calls"][0], family);
    EXPECT_FALSE(c["message"]["tool_calls"][0].contains("index"));

    // Streamed: the call in one delta, with its index, and finish_reason tool_calls.
    json calls = json::array();
    json finish;
    for (const auto& e : stream("/v1/chat/completions", forced_call(family))) {
      if (e == "[DONE]") break;
      ASSERT_FALSE(e.contains("error")) << e.dump();
      const json& ch = e["choices"][0];
      EXPECT_EQ(ch["delta"].value("content", ""), "") << e.dump();
      for (const auto& call : ch["delta"].value("tool_calls", json::array())) calls.push_back(call);
      if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
    }
    ASSERT_EQ(calls.size(), 1u) << calls.dump();
    EXPECT_EQ(calls[0]["index"], 0);
    expect_weather_call(calls[0], family);
    EXPECT_EQ(calls[0]["function"], c["message"]["tool_calls"][0]["function"]) << "greedy: the same call";
    EXPECT_EQ(finish, "tool_calls");

    // The call goes back with its result, as OpenAI clients send it: the template renders both.
    json next = chat_body(family, "What is the weather in Paris?", 4);
    next["tools"] = {kWeatherTool};
    next["messages"].push_back(c["message"]);
    next["messages"].push_back(
        {{"role", "tool"}, {"tool_call_id", c["message"]["tool_calls"][0]["id"]}, {"content", "18 degrees and sunny"}});
    const json second = ok("/v1/chat/completions", next);
    EXPECT_GT(second["usage"]["prompt_tokens"].get<int>(), r["usage"]["prompt_tokens"].get<int>() + 10);
  }
}

// A conversation whose calls carry OpenAI-style ids (another model's, or a client's own) goes on
// with a Mistral model, whose template raises an error for ids that are not 9 letters or digits.
TEST_F(OpenAI, ClientCallIdsReachAMistralTemplate) {
  json body = chat_body("nemo", "What is the weather in Paris?", 4);
  body["tools"] = {kWeatherTool};
  for (const std::string id : {"call_8f3kD2x9QmZ1LsWv", "toolu_01", "abc123XYZ"}) {
    SCOPED_TRACE(id);
    body["messages"] = {user("What is the weather in Paris?"),
                        {{"role", "assistant"},
                         {"content", nullptr},
                         {"tool_calls",
                          {{{"id", id},
                            {"type", "function"},
                            {"function", {{"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}}}}}}},
                        {{"role", "tool"}, {"tool_call_id", id}, {"content", "18 degrees and sunny"}}};
    const json r = ok("/v1/chat/completions", body);
    EXPECT_EQ(r["object"], "chat.completion") << r.dump();
  }
  // The same on Ollama's API, where calls have no ids unless a client kept OpenAI's.
  json chat = {{"model", "nemo"}, {"stream", false}, {"options", {{"num_predict", 4}}}, {"messages", body["messages"]}};
  chat["messages"][1]["tool_calls"][0]["function"]["arguments"] = {{"city", "Paris"}};
  auto [status, text] = server_->post("/api/chat", chat);
  EXPECT_EQ(status, 200) << text;
}

TEST_F(OpenAI, ToolsOnAModelWithoutThemIs400) {
  json body = chat_body("plain", "weather?", 4);
  body["tools"] = {kWeatherTool};
  expect_openai_error(post(*server_, "/v1/chat/completions", body), 400, "invalid_request_error",
                      "plain:latest does not support tools");
  body.erase("tools");
  body["reasoning_effort"] = "high";
  expect_openai_error(post(*server_, "/v1/chat/completions", body), 400, "invalid_request_error",
                      "\"plain\" does not support thinking");
}

// DeepSeek-R1's template opens the reasoning block; the random model never closes it in 24
// tokens, so everything it writes is reasoning.
TEST_F(OpenAI, ReasoningContent) {
  const json body = chat_body("r1", "Why is the sky blue?", 24);
  const json r = ok("/v1/chat/completions", body);
  const json& m = r["choices"][0]["message"];
  ASSERT_FALSE(m.value("reasoning_content", "").empty()) << r.dump();
  EXPECT_EQ(m["content"], "");
  std::string streamed;
  for (const auto& e : stream("/v1/chat/completions", body)) {
    if (e == "[DONE]") break;
    streamed += e["choices"][0]["delta"].value("reasoning_content", "");
    EXPECT_EQ(e["choices"][0]["delta"].value("content", ""), "") << e.dump();
  }
  EXPECT_EQ(streamed, m["reasoning_content"]);
  // reasoning_effort "none" turns it off.
  json off = body;
  off["reasoning_effort"] = "none";
  EXPECT_FALSE(ok("/v1/chat/completions", off)["choices"][0]["message"].contains("reasoning_content"));
}

TEST_F(OpenAI, Completions) {
  const json body = {{"model", "plain"}, {"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", 8}};
  const json r = ok("/v1/completions", body);
  EXPECT_EQ(r["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["usage"]["completion_tokens"], 8);
  const std::string text = r["choices"][0]["text"];
  // The prompt goes in raw, as /api/generate's raw does.
  const std::string raw = server_->generate_text({{"model", "plain"},
                                                  {"prompt", "Once upon a time"},
                                                  {"raw", true},
                                                  {"options", {{"temperature", 0}, {"top_p", 1}, {"num_predict", 8}}}});
  EXPECT_EQ(text, raw);

  std::string streamed;
  const auto events = stream("/v1/completions", body);
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    EXPECT_EQ(events[i]["object"], "text_completion");
    streamed += events[i]["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(streamed, text);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[events.size() - 2]["choices"][0]["finish_reason"], "length");

  // Without max_tokens, OpenAI's default of 16.
  EXPECT_EQ(ok("/v1/completions", {{"model", "plain"}, {"prompt", {"Hello"}}})["usage"]["completion_tokens"], 16);
  // A model without fill-in-the-middle tokens refuses a suffix as Ollama does (insert_test.cpp has one with them).
  expect_openai_error(post(*server_, "/v1/completions", {{"model", "plain"}, {"prompt", "x"}, {"suffix", "y"}}), 400,
                      "invalid_request_error", "does not support insert");
}

TEST_F(OpenAI, Embeddings) {
  const json r = ok("/v1/embeddings", {{"model", "plain"}, {"input", {"hello world", "goodbye"}}});
  EXPECT_EQ(r["object"], "list");
  EXPECT_EQ(r["model"], "plain");
  ASSERT_EQ(r["data"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(r["data"][i]["object"], "embedding");
    EXPECT_EQ(r["data"][i]["index"], i);
  }
  const auto floats = r["data"][0]["embedding"].get<std::vector<float>>();
  ASSERT_GT(floats.size(), 16u);
  EXPECT_GT(r["usage"]["prompt_tokens"].get<int>(), 2);
  EXPECT_EQ(r["usage"]["total_tokens"], r["usage"]["prompt_tokens"]);
  // The same vectors as /api/embed.
  auto [status, text] = server_->post("/api/embed", {{"model", "plain"}, {"input", {"hello world", "goodbye"}}});
  ASSERT_EQ(status, 200) << text;
  EXPECT_EQ(json::parse(text)["embeddings"][0].get<std::vector<float>>(), floats);

  // base64: little-endian float32, the same numbers.
  const json b = ok("/v1/embeddings", {{"model", "plain"}, {"input", "hello world"}, {"encoding_format", "base64"}});
  const std::string encoded = b["data"][0]["embedding"];
  const std::string bytes = run_capture("printf %s '" + encoded + "' | base64 -d | od -An -v -tx1 | tr -d ' \\n'");
  ASSERT_EQ(bytes.size(), floats.size() * 8) << "hex digits of 4 bytes per float";
  std::vector<float> decoded(floats.size());
  for (size_t i = 0; i < floats.size(); ++i) {
    uint32_t bits = 0;
    for (int k = 3; k >= 0; --k) bits = (bits << 8) | std::stoul(bytes.substr(i * 8 + k * 2, 2), nullptr, 16);
    std::memcpy(&decoded[i], &bits, sizeof bits);
  }
  EXPECT_EQ(decoded, floats);

  // dimensions cuts, then normalizes.
  const json d = ok("/v1/embeddings", {{"model", "plain"}, {"input", "hello world"}, {"dimensions", 8}});
  const auto cut = d["data"][0]["embedding"].get<std::vector<float>>();
  ASSERT_EQ(cut.size(), 8u);
  double norm = 0;
  for (float x : cut) norm += double(x) * x;
  EXPECT_NEAR(norm, 1.0, 1e-4);

  // Token ids are embedded as given.
  const json t = ok("/v1/embeddings", {{"model", "plain"}, {"input", {{10, 20, 30}, {40}}}});
  ASSERT_EQ(t["data"].size(), 2u);
  EXPECT_EQ(t["data"][0]["embedding"].size(), floats.size());
  EXPECT_EQ(t["usage"]["prompt_tokens"], 4);
  EXPECT_EQ(ok("/v1/embeddings", {{"model", "plain"}, {"input", {10, 20, 30}}})["data"][0]["embedding"],
            t["data"][0]["embedding"]);
  expect_openai_error(post(*server_, "/v1/embeddings", {{"model", "plain"}, {"input", {1, 99999999}}}), 400,
                      "invalid_request_error", "not in the vocabulary");
  expect_openai_error(post(*server_, "/v1/embeddings", {{"model", "plain"}, {"input", ""}}), 400,
                      "invalid_request_error", "'input'");
}

// keep_alive in a /v1 body (ebb's extension, ollama#2508) is the model's idle timer, as on
// /api/chat: 0 unloads it right after the request.
TEST_F(OpenAI, KeepAliveInTheBody) {
  const auto on_device = [](const std::string& name) {
    const json ps = server_->get("/api/ps");
    for (const auto& m : ps["models"])
      if (m["name"] == name) return true;
    return false;
  };
  json body = chat_body("plain", "hi", 2);
  body["keep_alive"] = 0;
  ok("/v1/chat/completions", body);
  EXPECT_TRUE(wait_until([&] { return !on_device("plain"); })) << "chat with keep_alive 0";
  ok("/v1/embeddings", {{"model", "plain"}, {"input", "hi"}, {"keep_alive", "1h"}});
  EXPECT_TRUE(on_device("plain"));
  ok("/v1/embeddings", {{"model", "plain"}, {"input", "hi"}, {"keep_alive", 0}});
  EXPECT_TRUE(wait_until([&] { return !on_device("plain"); })) << "embeddings with keep_alive 0";
  body["keep_alive"] = "soon";
  expect_openai_error(post(*server_, "/v1/chat/completions", body), 400, "invalid_request_error", "keep_alive");
}

TEST_F(OpenAI, Models) {
  const Answer list = get(*server_, "/v1/models");
  ASSERT_EQ(list.status, 200) << list.body;
  const json l = list.parsed();
  EXPECT_EQ(l["object"], "list");
  bool found = false;
  for (const auto& m : l["data"]) {
    EXPECT_EQ(m["object"], "model");
    EXPECT_EQ(m["owned_by"], "library");
    EXPECT_GT(m["created"].get<int64_t>(), 1700000000);
    found = found || m["id"] == "plain:latest";
  }
  EXPECT_TRUE(found) << l.dump();
  EXPECT_EQ(l["data"].size(), server_->get("/api/tags")["models"].size());

  const Answer one = get(*server_, "/v1/models/plain");
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.parsed()["id"], "plain");
  EXPECT_EQ(get(*server_, "/v1/models/plain:latest").parsed()["id"], "plain:latest");
  const Answer missing = get(*server_, "/v1/models/nope");
  expect_openai_error(missing, 404, "not_found_error", "model 'nope' not found");
  EXPECT_EQ(missing.parsed()["error"]["code"], "model_not_found");
}

TEST_F(OpenAI, ErrorShapes) {
  expect_openai_error(post(*server_, "/v1/chat/completions", std::string("{not json")), 400, "invalid_request_error",
                      "invalid JSON");
  const Answer unknown = post(*server_, "/v1/chat/completions", chat_body("no-such-model", "hi"));
  expect_openai_error(unknown, 404, "not_found_error", "model 'no-such-model' not found");
  json two = chat_body("plain", "hi");
  two["n"] = 2;
  expect_openai_error(post(*server_, "/v1/chat/completions", two), 400, "invalid_request_error", "'n' must be 1");
  json image = chat_body("plain", "hi");
  image["messages"][0]["content"] = {{{"type", "text"}, {"text", "what is this?"}},
                                     {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AA"}}}}};
  expect_openai_error(post(*server_, "/v1/chat/completions", image), 400, "invalid_request_error",
                      "images are not supported: ebb has no vision support yet");
  json logprobs = chat_body("plain", "hi");
  logprobs["top_logprobs"] = 2;
  expect_openai_error(post(*server_, "/v1/chat/completions", logprobs), 400, "invalid_request_error",
                      "'top_logprobs' requires 'logprobs': true");
  // A 400 even when streaming: the runner checks the request before the stream starts.
  json bad_schema = chat_body("plain", "hi");
  bad_schema["stream"] = true;
  bad_schema["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "nonsense"}}}}}};
  expect_openai_error(post(*server_, "/v1/chat/completions", bad_schema), 400, "invalid_request_error", "schema");
  expect_openai_error(get(*server_, "/v1/nothing-here"), 404, "not_found_error", "Not Found");
  // Ollama's routes keep Ollama's shape.
  auto [status, text] = server_->post("/api/chat", chat_body("no-such-model", "hi"));
  EXPECT_EQ(status, 404);
  EXPECT_TRUE(json::parse(text)["error"].is_string()) << text;
}

// A 503 from the memory manager says when to try again, on /v1 and on Ollama's routes.
TEST(OpenAIMemory, Unavailable503CarriesRetryAfter) {
  Server s({"--device-memory", "8MiB", "--headroom", "0"});
  const Answer v1 = post(s, "/v1/chat/completions", chat_body("tiny", "hi", 2));
  expect_openai_error(v1, 503, "api_error", "");
  EXPECT_GE(std::atoi(v1.header("Retry-After").c_str()), 1) << "Retry-After: '" << v1.header("Retry-After") << "'";
  const Answer ollama =
      post(s, "/api/generate",
           json{{"model", "tiny"}, {"prompt", "x"}, {"stream", false}, {"options", {{"num_predict", 2}}}});
  EXPECT_EQ(ollama.status, 503) << ollama.body;
  EXPECT_TRUE(ollama.parsed()["error"].is_string()) << ollama.body;
  EXPECT_GE(std::atoi(ollama.header("Retry-After").c_str()), 1) << ollama.body;
}

}  // namespace
}  // namespace ebb::test
