// Tool calling and reasoning on /api/chat: synthetic models carrying real model families' chat
// templates (from the pinned llama.cpp's models/templates), through real HTTP and a real runner.
#include "serve_fixture.h"

namespace ebb::test {
namespace {

const json kWeatherTool = {{"type", "function"},
                           {"function",
                            {{"name", "get_weather"},
                             {"description", "The weather in a city"},
                             {"parameters",
                              {{"type", "object"},
                               {"properties", {{"city", {{"type", "string"}, {"enum", {"Paris", "Rome"}}}}}},
                               {"required", {"city"}}}}}}};

json weather_request(const std::string& model, bool stream) {
  return {{"model", model},          {"messages", {{{"role", "user"}, {"content", "What is the weather in Paris?"}}}},
          {"tools", {kWeatherTool}}, {"tool_choice", "required"},
          {"stream", stream},        {"options", {{"temperature", 0}, {"num_predict", 160}}}};
}

class Tools : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { server_ = new Server({"--device-memory", "8GiB"}, family_models()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static Server* server_;
};
Server* Tools::server_ = nullptr;

// A random model never writes a tool call by itself: options.grammar forces its output into the
// family's tool-call format (the city is still the model's choice), and the parsed calls must
// come out right, streamed and not.
std::string forced_call_grammar(const std::string& family) {
  const std::string city = "city ::= \"Paris\" | \"Rome\"\n";
  const std::string args = R"("{\"city\": \"" city "\"}")";
  if (family == "llama32")
    return R"(root ::= "{\"name\": \"get_weather\", \"parameters\": " )" + args + R"( "}")" + "\n" + city;
  if (family == "nemo")
    return R"(root ::= "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " )" + args +
           R"( ", \"id\": \"abc123XYZ\"}]")" + "\n" + city;
  return R"(root ::= "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " )" + args + R"( "}\n</tool_call>")" +
         "\n" + city;
}

json forced_request(const std::string& family, bool stream) {
  json body = weather_request(family, stream);
  body["options"]["grammar"] = forced_call_grammar(family);
  return body;
}

void expect_weather_call(const json& calls) {
  ASSERT_TRUE(calls.is_array()) << calls.dump();
  ASSERT_EQ(calls.size(), 1u) << calls.dump();
  const json& f = calls[0]["function"];
  EXPECT_EQ(f["name"], "get_weather") << calls.dump();
  EXPECT_EQ(f["index"], 0) << calls.dump();
  ASSERT_TRUE(f["arguments"].is_object()) << "arguments are an object, not text: " << calls.dump();
  EXPECT_TRUE(f["arguments"]["city"] == "Paris" || f["arguments"]["city"] == "Rome") << calls.dump();
}

TEST_P(Tools, ForcedToolCallIsParsed) {
  auto [status, text] = server_->post("/api/chat", forced_request(GetParam(), false));
  ASSERT_EQ(status, 200) << text;
  json r = json::parse(text);
  expect_weather_call(r["message"]["tool_calls"]);
  EXPECT_EQ(r["message"]["content"], "") << "no call markup is left in the content";
  EXPECT_EQ(r["done_reason"], "stop");
}

TEST_P(Tools, ForcedToolCallIsParsedWhenStreamed) {
  std::vector<json> lines = server_->stream("/api/chat", forced_request(GetParam(), true));
  ASSERT_FALSE(lines.empty());
  ASSERT_EQ(lines.back().value("done", false), true) << lines.back().dump();
  json calls = json::array();
  std::string content;
  for (const auto& l : lines) {
    ASSERT_FALSE(l.contains("error")) << l.dump();
    content += l["message"].value("content", "");
    for (const auto& c : l["message"].value("tool_calls", json::array())) calls.push_back(c);
  }
  expect_weather_call(calls);
  EXPECT_EQ(content, "");
  // The same call as without streaming (greedy, same prompt).
  auto [status, text] = server_->post("/api/chat", forced_request(GetParam(), false));
  ASSERT_EQ(status, 200) << text;
  EXPECT_EQ(calls, json::parse(text)["message"]["tool_calls"]);
}

// prompt_eval_count counts only the tokens not cached, so each request's tool has a name of its
// own (the prompts part there); a long description must then cost tokens a short one does not.
TEST_P(Tools, ToolsAreRenderedIntoThePrompt) {
  static int n = 0;
  auto count_with_description = [&](const std::string& description) {
    json body = weather_request(GetParam(), false);
    body["tools"][0]["function"]["name"] = "w" + std::to_string(++n) + "_weather";
    body["tools"][0]["function"]["description"] = description;
    body["tool_choice"] = "auto";
    body["options"]["num_predict"] = 2;
    auto [status, text] = server_->post("/api/chat", body);
    EXPECT_EQ(status, 200) << text;
    return status == 200 ? json::parse(text)["prompt_eval_count"].get<int>() : 0;
  };
  std::string long_description;
  for (int i = 0; i < 20; ++i) long_description += "Returns the weather of the city it is given. ";
  const int short_count = count_with_description("Weather.");
  const int long_count = count_with_description(long_description);
  EXPECT_GT(long_count, short_count + 60) << "the tool's description is in the prompt";
}

// The next turn carries the call and its result back; the template renders both.
TEST_P(Tools, ToolResultGoesBackInTheNextTurn) {
  json call = {{"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}};
  json body = weather_request(GetParam(), false);
  body["messages"].push_back({{"role", "assistant"}, {"content", ""}, {"tool_calls", {call}}});
  body["messages"].push_back({{"role", "tool"}, {"content", "18 degrees and sunny"}, {"tool_name", "get_weather"}});
  body["tool_choice"] = "auto";
  body["options"]["num_predict"] = 8;
  auto [status, text] = server_->post("/api/chat", body);
  ASSERT_EQ(status, 200) << text;
  json first_turn = weather_request(GetParam(), false);
  first_turn["tool_choice"] = "auto";
  first_turn["options"]["num_predict"] = 8;
  auto [status1, text1] = server_->post("/api/chat", first_turn);
  ASSERT_EQ(status1, 200) << text1;
  EXPECT_GT(json::parse(text)["prompt_eval_count"].get<int>(), json::parse(text1)["prompt_eval_count"].get<int>() + 5)
      << "the call and its result are in the prompt";
}

INSTANTIATE_TEST_SUITE_P(Families, Tools, ::testing::Values("qwen25", "hermes3", "llama32", "nemo", "qwen3"));

TEST_F(Tools, ModelWithoutToolsSaysSo) {
  // Decided from the header before the model loads, in Ollama's words.
  auto [status, text] = server_->post("/api/chat", weather_request("plain", false));
  EXPECT_EQ(status, 400) << text;
  EXPECT_EQ(json::parse(text)["error"], "plain:latest does not support tools") << text;
  // tool_choice "none" calls nothing: no capability needed.
  json none = weather_request("plain", false);
  none["tool_choice"] = "none";
  none["options"]["num_predict"] = 2;
  EXPECT_EQ(server_->post("/api/chat", none).first, 200);
}

TEST_F(Tools, BadToolsAre400) {
  json body = weather_request("qwen25", false);
  body["tools"][0]["function"]["parameters"] = "not a schema";
  EXPECT_EQ(server_->post("/api/chat", body).first, 400);
  body = weather_request("qwen25", false);
  body["tools"] = "get_weather";
  EXPECT_EQ(server_->post("/api/chat", body).first, 400);
  body = forced_request("qwen25", false);
  body["options"]["grammar"] = "root ::= (";
  EXPECT_EQ(server_->post("/api/chat", body).first, 400);
  body = weather_request("qwen25", false);
  body["tool_choice"] = "sometimes";
  EXPECT_EQ(server_->post("/api/chat", body).first, 400);
  body = weather_request("qwen25", false);
  body["messages"].push_back({{"role", "assistant"}, {"content", ""}, {"tool_calls", {{{"function", 3}}}}});
  EXPECT_EQ(server_->post("/api/chat", body).first, 400);
}

// `tag` starts the question: prompts that differ from the first token on share no cached prefix
// (prompt_eval_count counts only the tokens evaluated).
json think_request(const std::string& model, json think, bool stream, const std::string& tag = "A") {
  json body = {{"model", model},
               {"messages", {{{"role", "user"}, {"content", tag + " Why is the sky blue?"}}}},
               {"stream", stream},
               {"options", {{"temperature", 0}, {"num_predict", 24}}}};
  if (!think.is_null()) body["think"] = think;
  return body;
}

// DeepSeek-R1's template opens the reasoning block; the random model never closes it in 24
// tokens, so everything it writes is reasoning.
TEST_F(Tools, ThinkingIsSplitFromTheContent) {
  auto [status, text] = server_->post("/api/chat", think_request("r1", true, false));
  ASSERT_EQ(status, 200) << text;
  json m = json::parse(text)["message"];
  EXPECT_FALSE(m.value("thinking", "").empty()) << m.dump();
  EXPECT_EQ(m["content"], "") << m.dump();

  std::string streamed;
  for (const auto& l : server_->stream("/api/chat", think_request("r1", true, true))) {
    ASSERT_FALSE(l.contains("error")) << l.dump();
    streamed += l["message"].value("thinking", "");
    EXPECT_EQ(l["message"]["content"], "") << l.dump();
  }
  EXPECT_EQ(streamed, m["thinking"]);
  // A thinking model thinks unless told not to (as Ollama).
  auto [s2, t2] = server_->post("/api/chat", think_request("r1", nullptr, false));
  ASSERT_EQ(s2, 200) << t2;
  EXPECT_EQ(json::parse(t2)["message"]["thinking"], m["thinking"]);
  // "think": false keeps the reasoning out of the answer.
  auto [s3, t3] = server_->post("/api/chat", think_request("r1", false, false));
  ASSERT_EQ(s3, 200) << t3;
  EXPECT_FALSE(json::parse(t3)["message"].contains("thinking")) << t3;
}

// /api/generate reasons too (the prompt is the one user turn), with "thinking" beside "response".
TEST_F(Tools, GenerateSplitsThinkingToo) {
  json body = {{"model", "r1"},
               {"prompt", "D Why is the sky blue?"},
               {"stream", false},
               {"options", {{"temperature", 0}, {"num_predict", 16}}}};
  auto [status, text] = server_->post("/api/generate", body);
  ASSERT_EQ(status, 200) << text;
  json r = json::parse(text);
  EXPECT_FALSE(r.value("thinking", "").empty()) << text;
  EXPECT_EQ(r["response"], "") << text;
  body["think"] = false;
  auto [s2, t2] = server_->post("/api/generate", body);
  ASSERT_EQ(s2, 200) << t2;
  EXPECT_FALSE(json::parse(t2).contains("thinking")) << t2;
  body["raw"] = true;  // a raw prompt is never parsed
  body.erase("think");
  auto [s3, t3] = server_->post("/api/generate", body);
  ASSERT_EQ(s3, 200) << t3;
  EXPECT_FALSE(json::parse(t3).contains("thinking")) << t3;
  EXPECT_FALSE(json::parse(t3)["response"].get<std::string>().empty()) << t3;
  json plain = {{"model", "plain"}, {"prompt", "hi"}, {"think", true}};
  EXPECT_EQ(server_->post("/api/generate", plain),
            std::make_pair(400, std::string(R"({"error":"\"plain\" does not support thinking"})")));
  json image = {{"model", "plain"}, {"prompt", "hi"}, {"images", {"aGk="}}};
  EXPECT_EQ(server_->post("/api/generate", image).first, 400);
}

// Qwen3's template turns reasoning off with an empty think block in the prompt.
TEST_F(Tools, ThinkFalseChangesThePrompt) {
  auto [s1, t1] = server_->post("/api/chat", think_request("qwen3", true, false, "B"));
  auto [s2, t2] = server_->post("/api/chat", think_request("qwen3", false, false, "C"));
  ASSERT_EQ(s1, 200) << t1;
  ASSERT_EQ(s2, 200) << t2;
  EXPECT_GT(json::parse(t2)["prompt_eval_count"].get<int>(), json::parse(t1)["prompt_eval_count"].get<int>());
  EXPECT_EQ(server_->post("/api/chat", think_request("qwen3", "sometimes", false)).first, 400);
}

TEST_F(Tools, ThinkingOnAModelWithoutItIs400) {
  json body = {{"model", "plain"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"think", true}};
  auto [status, text] = server_->post("/api/chat", body);
  EXPECT_EQ(status, 400) << text;
  EXPECT_EQ(json::parse(text)["error"], "\"plain\" does not support thinking") << text;
}

}  // namespace
}  // namespace ebb::test
