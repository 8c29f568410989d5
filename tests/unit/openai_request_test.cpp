// OpenAI request bodies as ebb's own: each field's translation, and what is a 400.
#include "api/openai_request.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using ebb::api::chat_body_from_openai;
using ebb::api::embed_from_openai;
using ebb::api::embedding_base64;
using ebb::api::generate_body_from_openai;
using ebb::api::parse_openai_chat;
using ebb::api::parse_openai_completion;
using json = nlohmann::json;

json chat(json extra = json::object()) {
  json body = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  body.update(extra);
  return body;
}

// One field of a chat body, and the part of the /api/chat body it becomes.
struct FieldCase {
  const char* name;
  json field;      // merged into a minimal chat body
  const char* at;  // JSON pointer into the translated body
  json expected;   // the value there (null: absent)
};

class ChatField : public ::testing::TestWithParam<FieldCase> {};

TEST_P(ChatField, Translates) {
  const FieldCase& c = GetParam();
  const json out = chat_body_from_openai(chat(c.field));
  const json::json_pointer at(c.at);
  if (c.expected.is_null())
    EXPECT_FALSE(out.contains(at)) << out.dump();
  else
    EXPECT_EQ(out.value(at, json()), c.expected) << out.dump();
}

const json kTool = {
    {"type", "function"},
    {"function", {{"name", "f"}, {"parameters", {{"type", "object"}, {"properties", json::object()}}}}}};

INSTANTIATE_TEST_SUITE_P(
    OpenAI, ChatField,
    ::testing::Values(
        FieldCase{"model", json::object(), "/model", "m"},
        FieldCase{"stream_default_false", json::object(), "/stream", false},
        FieldCase{"stream", {{"stream", true}}, "/stream", true},
        FieldCase{"temperature_default_1", json::object(), "/options/temperature", 1.0},
        FieldCase{"temperature", {{"temperature", 0}}, "/options/temperature", 0},
        FieldCase{"top_p_default_1", json::object(), "/options/top_p", 1.0},
        FieldCase{"top_p", {{"top_p", 0.5}}, "/options/top_p", 0.5},
        FieldCase{"seed", {{"seed", 42}}, "/options/seed", 42},
        FieldCase{"stop_string", {{"stop", "END"}}, "/options/stop", "END"},
        FieldCase{"stop_array", {{"stop", {"a", "b"}}}, "/options/stop", json({"a", "b"})},
        FieldCase{"frequency_penalty", {{"frequency_penalty", 0.5}}, "/options/frequency_penalty", 0.5},
        FieldCase{"presence_penalty", {{"presence_penalty", -1}}, "/options/presence_penalty", -1},
        FieldCase{"max_tokens", {{"max_tokens", 7}}, "/options/num_predict", 7},
        FieldCase{"max_completion_tokens", {{"max_completion_tokens", 9}}, "/options/num_predict", 9},
        FieldCase{
            "max_completion_tokens_wins", {{"max_tokens", 7}, {"max_completion_tokens", 9}}, "/options/num_predict", 9},
        FieldCase{"no_max_tokens", json::object(), "/options/num_predict", nullptr},
        FieldCase{"grammar", {{"grammar", "root ::= \"x\""}}, "/options/grammar", "root ::= \"x\""},
        FieldCase{"response_format_text", {{"response_format", {{"type", "text"}}}}, "/format", nullptr},
        FieldCase{"response_format_json_object", {{"response_format", {{"type", "json_object"}}}}, "/format", "json"},
        FieldCase{"response_format_json_schema",
                  {{"response_format",
                    {{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", {{"type", "object"}}}}}}}},
                  "/format",
                  {{"type", "object"}}},
        FieldCase{"tools", {{"tools", {kTool}}}, "/tools/0/function/name", "f"},
        FieldCase{"tool_choice_none", {{"tool_choice", "none"}}, "/tool_choice", "none"},
        FieldCase{"tool_choice_required", {{"tool_choice", "required"}}, "/tool_choice", "required"},
        FieldCase{"tool_choice_function",
                  {{"tool_choice", {{"type", "function"}, {"function", {{"name", "f"}}}}}},
                  "/tool_choice/function/name",
                  "f"},
        FieldCase{"reasoning_effort_high", {{"reasoning_effort", "high"}}, "/think", "high"},
        FieldCase{"reasoning_effort_minimal", {{"reasoning_effort", "minimal"}}, "/think", "low"},
        FieldCase{"reasoning_effort_none", {{"reasoning_effort", "none"}}, "/think", false},
        FieldCase{"reasoning_object", {{"reasoning", {{"effort", "medium"}}}}, "/think", "medium"},
        FieldCase{"keep_alive", {{"keep_alive", "10m"}}, "/keep_alive", "10m"},
        FieldCase{"keep_alive_zero", {{"keep_alive", 0}}, "/keep_alive", 0},
        FieldCase{"n_1", {{"n", 1}}, "/model", "m"},
        FieldCase{"logprobs_false", {{"logprobs", false}}, "/logprobs", nullptr},
        FieldCase{"logprobs_true", {{"logprobs", true}}, "/logprobs", true},
        FieldCase{"top_logprobs", {{"logprobs", true}, {"top_logprobs", 3}}, "/top_logprobs", 3},
        FieldCase{"unknown_fields_ignored", {{"user", "u"}, {"store", true}, {"frobnicate", 3}}, "/user", nullptr}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(OpenAIChatRequest, MessagesTranslate) {
  const json body = chat(
      {{"messages",
        {{{"role", "developer"}, {"content", "be brief"}},
         {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "one"}}, {{"type", "text"}, {"text", "two"}}}}},
         {{"role", "assistant"},
          {"content", nullptr},
          {"reasoning_content", "hmm"},
          {"tool_calls",
           {{{"id", "call_1"},
             {"type", "function"},
             {"function", {{"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}}}}}}},
         {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "18C"}}}}});
  const json m = chat_body_from_openai(body)["messages"];
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], json({{"role", "system"}, {"content", "be brief"}}));
  EXPECT_EQ(m[1]["content"], "one\ntwo") << "text parts joined by newlines";
  EXPECT_EQ(m[2]["content"], "");
  EXPECT_EQ(m[2]["thinking"], "hmm");
  EXPECT_EQ(m[2]["tool_calls"],
            json::parse(R"([{"id":"call_1","function":{"name":"get_weather","arguments":{"city":"Paris"}}}])"))
      << "arguments: a JSON string becomes Ollama's object";
  EXPECT_EQ(m[3],
            json({{"role", "tool"}, {"content", "18C"}, {"tool_call_id", "call_1"}, {"tool_name", "get_weather"}}));
  // The whole path: parse_generate_request takes the translated body.
  const auto r = parse_openai_chat(body);
  EXPECT_EQ(r.generate.runner_msg["messages"][3]["tool_call_id"], "call_1");
  EXPECT_EQ(r.generate.runner_msg["messages"][2]["tool_calls"][0]["function"]["arguments"]["city"], "Paris");
}

TEST(OpenAIChatRequest, ParsedAsAChat) {
  auto r = parse_openai_chat(chat({{"temperature", 0},
                                   {"max_tokens", 5},
                                   {"stop", "x"},
                                   {"stream", true},
                                   {"stream_options", {{"include_usage", true}}},
                                   {"response_format", {{"type", "json_object"}}}}));
  EXPECT_TRUE(r.include_usage);
  EXPECT_TRUE(r.generate.stream);
  EXPECT_FALSE(r.generate.empty);
  EXPECT_EQ(r.generate.model, "m");
  EXPECT_EQ(r.generate.options.sampling.temperature, 0.0f);
  EXPECT_EQ(r.generate.options.sampling.num_predict, 5);
  EXPECT_EQ(r.generate.options.sampling.stop, std::vector<std::string>{"x"});
  EXPECT_EQ(r.generate.options.sampling.format, "json");
  EXPECT_EQ(r.generate.runner_msg["mode"], "chat");
  EXPECT_FALSE(parse_openai_chat(chat()).include_usage);
  EXPECT_FALSE(parse_openai_chat(chat()).generate.stream) << "OpenAI does not stream unless asked";
}

// A body and the start of its 400 message.
struct BadCase {
  const char* name;
  json body;
  const char* message;
};

class ChatBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ChatBad, Is400) {
  try {
    parse_openai_chat(GetParam().body);
    FAIL() << "accepted: " << GetParam().body.dump();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind(GetParam().message, 0), 0u) << e.what();
  }
}

const json kImagePart = {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}};

INSTANTIATE_TEST_SUITE_P(
    OpenAI, ChatBad,
    ::testing::Values(
        BadCase{"no_model", {{"messages", {{{"role", "user"}, {"content", "hi"}}}}}, "model is required"},
        BadCase{"no_messages", {{"model", "m"}}, "'messages' must be a non-empty array"},
        BadCase{"empty_messages", {{"model", "m"}, {"messages", json::array()}}, "'messages' must be a non-empty"},
        BadCase{"n_2", chat({{"n", 2}}), "'n' must be 1"},
        BadCase{"logprobs_string", chat({{"logprobs", "yes"}}), "'logprobs' must be a boolean"},
        BadCase{"top_logprobs_alone", chat({{"top_logprobs", 3}}), "'top_logprobs' requires 'logprobs': true"},
        BadCase{"top_logprobs_with_false", chat({{"logprobs", false}, {"top_logprobs", 0}}),
                "'top_logprobs' requires 'logprobs': true"},
        BadCase{"top_logprobs_21", chat({{"logprobs", true}, {"top_logprobs", 21}}),
                "'top_logprobs' must be an integer from 0 to 20"},
        BadCase{"top_logprobs_negative", chat({{"logprobs", true}, {"top_logprobs", -1}}),
                "'top_logprobs' must be an integer from 0 to 20"},
        BadCase{"top_logprobs_float", chat({{"logprobs", true}, {"top_logprobs", 2.5}}),
                "'top_logprobs' must be an integer from 0 to 20"},
        BadCase{
            "image_part",
            chat({{"messages", {{{"role", "user"}, {"content", {{{"type", "text"}, {"text", "?"}}, kImagePart}}}}}}),
            "images are not supported: ebb has no vision support yet"},
        BadCase{"audio_part", chat({{"messages", {{{"role", "user"}, {"content", {{{"type", "input_audio"}}}}}}}}),
                "content parts of type 'input_audio' are not supported"},
        BadCase{"bad_role", chat({{"messages", {{{"role", "function"}, {"content", "x"}}}}}),
                "unsupported message role 'function'"},
        BadCase{"content_number", chat({{"messages", {{{"role", "user"}, {"content", 3}}}}}), "'content' must be"},
        BadCase{"arguments_not_json",
                chat({{"messages",
                       {{{"role", "assistant"},
                         {"tool_calls",
                          {{{"type", "function"}, {"function", {{"name", "f"}, {"arguments", "{oops"}}}}}}}}}}),
                "tool call 'f': 'arguments' must be a JSON object"},
        BadCase{"temperature_high", chat({{"temperature", 3}}), "'temperature' must be a number from 0"},
        BadCase{"temperature_string", chat({{"temperature", "hot"}}), "'temperature' must be a number"},
        BadCase{"max_tokens_zero", chat({{"max_tokens", 0}}), "'max_tokens' must be a positive integer"},
        BadCase{"seed_float", chat({{"seed", 1.5}}), "'seed' must be an integer"},
        BadCase{"stop_number", chat({{"stop", 3}}), "'stop' must be a string or an array of strings"},
        BadCase{"response_format_unknown", chat({{"response_format", {{"type", "xml"}}}}), "'response_format.type'"},
        BadCase{"json_schema_without_schema", chat({{"response_format", {{"type", "json_schema"}}}}),
                "'response_format.json_schema.schema'"},
        BadCase{"reasoning_effort_bad", chat({{"reasoning_effort", "max"}}), "'reasoning_effort' must be"},
        BadCase{"stream_string", chat({{"stream", "yes"}}), "'stream' must be a boolean"},
        BadCase{"grammar_number", chat({{"grammar", 1}}), "'grammar' must be a string"},
        BadCase{"tools_not_array", chat({{"tools", "f"}}), "'tools' must be an array"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(OpenAICompletionRequest, Translates) {
  json out = generate_body_from_openai({{"model", "m"}, {"prompt", "Once"}});
  EXPECT_EQ(out["prompt"], "Once");
  EXPECT_EQ(out["raw"], true) << "a completion continues the text: no chat template";
  EXPECT_EQ(out["options"]["num_predict"], 16) << "OpenAI's default max_tokens for completions";
  EXPECT_EQ(out["stream"], false);
  out = generate_body_from_openai({{"model", "m"},
                                   {"prompt", {"Once"}},
                                   {"max_tokens", 3},
                                   {"stop", {"\n"}},
                                   {"temperature", 0},
                                   {"seed", 1},
                                   {"suffix", ""},
                                   {"echo", false}});
  EXPECT_EQ(out["prompt"], "Once") << "an array of one string";
  EXPECT_EQ(out["options"]["num_predict"], 3);
  EXPECT_EQ(out["options"]["stop"], json({"\n"}));
  EXPECT_EQ(out["options"]["temperature"], 0);
  EXPECT_EQ(out["options"]["seed"], 1);
  EXPECT_EQ(out["raw"], true) << "an empty suffix is no suffix";
  EXPECT_FALSE(out.contains("suffix"));

  // A suffix: fill in the middle, laid out by the model's insert format, so not raw.
  out = generate_body_from_openai({{"model", "m"}, {"prompt", "def f("}, {"suffix", "):"}});
  EXPECT_EQ(out["suffix"], "):");
  EXPECT_EQ(out["raw"], false);
  EXPECT_EQ(
      parse_openai_completion({{"model", "m"}, {"prompt", "def f("}, {"suffix", "):"}}).generate.runner_msg["suffix"],
      "):");

  auto r = parse_openai_completion(
      {{"model", "m"}, {"prompt", ""}, {"stream", true}, {"stream_options", {{"include_usage", true}}}});
  EXPECT_FALSE(r.generate.empty) << "an empty prompt still generates";
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.generate.runner_msg["mode"], "generate");
  EXPECT_EQ(r.generate.runner_msg["raw"], true);
}

TEST(OpenAICompletionRequest, Unsupported) {
  const auto message = [](json extra) {
    json body = {{"model", "m"}, {"prompt", "x"}};
    body.update(extra);
    try {
      parse_openai_completion(body);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message({{"suffix", 3}}), "'suffix' must be a string");
  EXPECT_EQ(message({{"echo", true}}), "echo is not supported");
  EXPECT_EQ(message({{"logprobs", 6}}), "'logprobs' must be an integer from 0 to 5");
  EXPECT_EQ(message({{"logprobs", -1}}), "'logprobs' must be an integer from 0 to 5");
  EXPECT_EQ(message({{"logprobs", true}}), "'logprobs' must be an integer from 0 to 5");
  EXPECT_EQ(message({{"n", 3}}), "'n' must be 1: ebb generates one choice per request");
  EXPECT_EQ(message({{"best_of", 2}}), "'best_of' must be 1: ebb generates one choice per request");
  EXPECT_EQ(message({{"prompt", {1, 2, 3}}}), "token prompts are not supported");
  EXPECT_EQ(message({{"prompt", {{1, 2}}}}), "token prompts are not supported");
  EXPECT_EQ(message({{"prompt", {"a", "b"}}}).rfind("'prompt' must be a string or an array of one string", 0), 0u);
  EXPECT_EQ(message({{"prompt", nullptr}}), "'prompt' is required");
}

TEST(OpenAIEmbedRequest, Inputs) {
  auto r = embed_from_openai({{"model", "e"}, {"input", "hello"}});
  EXPECT_EQ(r.embed_body["input"], json({"hello"}));
  EXPECT_FALSE(r.base64);
  r = embed_from_openai({{"model", "e"}, {"input", {"a", "b"}}, {"encoding_format", "base64"}, {"dimensions", 8}});
  EXPECT_EQ(r.embed_body["input"], json({"a", "b"}));
  EXPECT_EQ(r.embed_body["dimensions"], 8);
  EXPECT_FALSE(r.embed_body.contains("keep_alive"));
  EXPECT_EQ(embed_from_openai({{"model", "e"}, {"input", "x"}, {"keep_alive", "1h"}}).embed_body["keep_alive"], "1h");
  EXPECT_TRUE(r.base64);
  r = embed_from_openai({{"model", "e"}, {"input", {1, 2, 3}}});
  EXPECT_EQ(r.embed_body["input"], json::parse("[[1,2,3]]")) << "one token input";
  r = embed_from_openai({{"model", "e"}, {"input", {{1, 2}, {3}}}});
  EXPECT_EQ(r.embed_body["input"], json::parse("[[1,2],[3]]")) << "token inputs";
  for (const json& bad :
       {json(nullptr), json(""), json::array(), json({""}), json(3), json({json::array()}), json({json({1, "x"})})})
    EXPECT_THROW(embed_from_openai({{"model", "e"}, {"input", bad}}), std::invalid_argument) << bad.dump();
  EXPECT_THROW(embed_from_openai({{"model", "e"}, {"input", "x"}, {"encoding_format", "hex"}}), std::invalid_argument);
}

TEST(OpenAIEmbedRequest, Base64IsLittleEndianFloat32) {
  EXPECT_EQ(embedding_base64({}), "");
  EXPECT_EQ(embedding_base64({1.0f}), "AACAPw==");  // 00 00 80 3f
  EXPECT_EQ(embedding_base64({1.0f, -2.0f}), "AACAPwAAAMA=");
  EXPECT_EQ(embedding_base64({0.0f, 0.0f, 0.0f}), "AAAAAAAAAAAAAAAA");
}

}  // namespace
