// Responses API request bodies as ebb's own /api/chat body: each field's translation, the input
// items as chat messages, the settings a response echoes, and what is a 400.
#include "api/responses_request.h"

#include <gtest/gtest.h>

#include <string>

namespace {

using ebb::api::chat_body_from_responses;
using ebb::api::parse_responses;
using ebb::api::response_settings;
using json = nlohmann::json;

json request(json extra = json::object()) {
  json body = {{"model", "m"}, {"input", "hi"}};
  body.update(extra);
  return body;
}

// One field of a Responses body, and the part of the /api/chat body it becomes.
struct FieldCase {
  const char* name;
  json field;      // merged into a minimal body
  const char* at;  // JSON pointer into the translated body
  json expected;   // the value there (null: absent)
};

class ResponsesField : public ::testing::TestWithParam<FieldCase> {};

TEST_P(ResponsesField, Translates) {
  const FieldCase& c = GetParam();
  const json out = chat_body_from_responses(request(c.field));
  const json::json_pointer at(c.at);
  if (c.expected.is_null())
    EXPECT_FALSE(out.contains(at)) << out.dump();
  else
    EXPECT_EQ(out.value(at, json()), c.expected) << out.dump();
}

const json kTool = {{"type", "function"},
                    {"name", "get_weather"},
                    {"description", "The weather in a city"},
                    {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}},
                    {"strict", true}};
const json kSchema = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}};

INSTANTIATE_TEST_SUITE_P(
    Responses, ResponsesField,
    ::testing::Values(
        FieldCase{"model", json::object(), "/model", "m"},
        FieldCase{"input_string_is_a_user_message", json::object(), "/messages",
                  json::parse(R"([{"role":"user","content":"hi"}])")},
        FieldCase{"instructions_first",
                  {{"instructions", "be brief"}},
                  "/messages/0",
                  {{"role", "system"}, {"content", "be brief"}}},
        FieldCase{"stream_default_false", json::object(), "/stream", false},
        FieldCase{"stream", {{"stream", true}}, "/stream", true},
        FieldCase{"temperature_default_1", json::object(), "/options/temperature", 1.0},
        FieldCase{"temperature", {{"temperature", 0.2}}, "/options/temperature", 0.2},
        FieldCase{"top_p", {{"top_p", 0.5}}, "/options/top_p", 0.5},
        FieldCase{"max_output_tokens", {{"max_output_tokens", 7}}, "/options/num_predict", 7},
        FieldCase{"no_max_output_tokens", json::object(), "/options/num_predict", nullptr},
        FieldCase{"grammar", {{"grammar", "root ::= \"x\""}}, "/options/grammar", "root ::= \"x\""},
        FieldCase{"keep_alive", {{"keep_alive", "5m"}}, "/keep_alive", "5m"},
        FieldCase{"tool_flat_to_nested",
                  {{"tools", {kTool}}},
                  "/tools/0",
                  {{"type", "function"},
                   {"function",
                    {{"name", "get_weather"},
                     {"description", "The weather in a city"},
                     {"parameters", kTool["parameters"]},
                     {"strict", true}}}}},
        FieldCase{"tool_without_description",
                  {{"tools", {{{"type", "function"}, {"name", "f"}, {"description", nullptr}}}}},
                  "/tools/0/function",
                  {{"name", "f"}}},
        FieldCase{"tool_choice_auto", {{"tool_choice", "auto"}}, "/tool_choice", "auto"},
        FieldCase{"tool_choice_required", {{"tool_choice", "required"}}, "/tool_choice", "required"},
        FieldCase{"tool_choice_function",
                  {{"tool_choice", {{"type", "function"}, {"name", "f"}}}},
                  "/tool_choice",
                  {{"type", "function"}, {"function", {{"name", "f"}}}}},
        FieldCase{"text_format_text", {{"text", {{"format", {{"type", "text"}}}}}}, "/format", nullptr},
        FieldCase{"text_without_format", {{"text", {{"verbosity", "low"}}}}, "/format", nullptr},
        FieldCase{"text_format_json_object", {{"text", {{"format", {{"type", "json_object"}}}}}}, "/format", "json"},
        FieldCase{
            "text_format_json_schema",
            {{"text", {{"format", {{"type", "json_schema"}, {"name", "a"}, {"schema", kSchema}, {"strict", true}}}}}},
            "/format",
            kSchema},
        FieldCase{"reasoning_effort_high", {{"reasoning", {{"effort", "high"}}}}, "/think", "high"},
        FieldCase{"reasoning_effort_minimal", {{"reasoning", {{"effort", "minimal"}}}}, "/think", "low"},
        FieldCase{"reasoning_effort_none", {{"reasoning", {{"effort", "none"}}}}, "/think", false},
        FieldCase{"reasoning_summary_only", {{"reasoning", {{"summary", "auto"}}}}, "/think", nullptr},
        FieldCase{"ignored_fields",
                  {{"store", true},
                   {"metadata", {{"k", "v"}}},
                   {"user", "u"},
                   {"truncation", "auto"},
                   {"parallel_tool_calls", false},
                   {"include", {"reasoning.encrypted_content"}},
                   {"prompt_cache_key", "x"}},
                  "/user",
                  nullptr}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ResponsesRequest, InputItemsBecomeChatMessages) {
  const json body = request({{"instructions", "be brief"}, {"input", json::parse(R"([
    {"role": "developer", "content": "use tools"},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "one"},
                                                   {"type": "input_text", "text": "two"}]},
    {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}]},
    {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
     "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}]},
    {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
     "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
    {"type": "function_call", "call_id": "call_2", "name": "get_time", "arguments": ""},
    {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
    {"type": "function_call_output", "call_id": "call_2",
     "output": [{"type": "input_text", "text": "noon"}]},
    {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "again"}],
     "encrypted_content": null},
    {"type": "function_call", "call_id": "call_3", "name": "get_weather", "arguments": "{\"city\":\"Rome\"}"},
    {"type": "function_call_output", "call_id": "call_3", "output": "20C"}
  ])")}});
  const json m = chat_body_from_responses(body)["messages"];
  ASSERT_EQ(m.size(), 8u) << m.dump();
  EXPECT_EQ(m[0], json({{"role", "system"}, {"content", "be brief"}}));
  EXPECT_EQ(m[1], json({{"role", "system"}, {"content", "use tools"}})) << "developer is system";
  EXPECT_EQ(m[2], json({{"role", "user"}, {"content", "one\ntwo"}})) << "text parts joined as chat's are";
  EXPECT_EQ(m[3]["role"], "assistant");
  EXPECT_EQ(m[3]["content"], "Let me look.");
  EXPECT_EQ(m[3]["thinking"], "think") << "the reasoning before a turn is its thinking";
  EXPECT_EQ(m[3]["tool_calls"], json::parse(R"([
    {"id": "call_1", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
    {"id": "call_2", "function": {"name": "get_time", "arguments": {}}}])"))
      << "the calls after an assistant message are its own";
  EXPECT_EQ(m[4],
            json({{"role", "tool"}, {"content", "18C"}, {"tool_call_id", "call_1"}, {"tool_name", "get_weather"}}));
  EXPECT_EQ(m[5], json({{"role", "tool"}, {"content", "noon"}, {"tool_call_id", "call_2"}, {"tool_name", "get_time"}}));
  EXPECT_EQ(m[6]["role"], "assistant") << "a call after a tool answer is a new turn";
  EXPECT_EQ(m[6]["content"], "");
  EXPECT_EQ(m[6]["thinking"], "again") << "a reasoning item's content wins over its summary";
  EXPECT_EQ(m[6]["tool_calls"][0]["id"], "call_3");
  EXPECT_EQ(m[7],
            json({{"role", "tool"}, {"content", "20C"}, {"tool_call_id", "call_3"}, {"tool_name", "get_weather"}}));
}

TEST(ResponsesRequest, TrailingReasoningIsDropped) {
  const json m = chat_body_from_responses(request({{"input", json::parse(R"([{"role":"user","content":"hi"},
                                 {"type":"reasoning","summary":[{"type":"summary_text","text":"x"}]}])")}}))
      ["messages"];
  EXPECT_EQ(m, json::parse(R"([{"role":"user","content":"hi"}])"));
}

TEST(ResponsesRequest, ParsedAsAChat) {
  const auto r = parse_responses(request({{"stream", true}, {"max_output_tokens", 5}, {"keep_alive", 0}}));
  EXPECT_TRUE(r.generate.stream);
  EXPECT_FALSE(r.generate.empty);
  EXPECT_EQ(r.generate.model, "m");
  EXPECT_EQ(r.generate.options.sampling.num_predict, 5);
  ASSERT_TRUE(r.generate.keep_alive.has_value());
  EXPECT_EQ(r.generate.runner_msg["mode"], "chat");
  EXPECT_EQ(r.generate.runner_msg["messages"], json::parse(R"([{"role":"user","content":"hi"}])"));
  EXPECT_EQ(r.settings, response_settings(request({{"stream", true}, {"max_output_tokens", 5}})));
}

TEST(ResponsesRequest, SettingsEchoTheRequestWithOpenAIsDefaults) {
  EXPECT_EQ(response_settings(request()), json::parse(R"({
    "instructions": null, "max_output_tokens": null, "parallel_tool_calls": true,
    "previous_response_id": null, "reasoning": {"effort": null, "summary": null}, "store": false,
    "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [],
    "top_p": 1.0, "truncation": "disabled", "user": null, "metadata": {}})"));
  const json format = {{"type", "json_schema"}, {"name", "a"}, {"schema", kSchema}};
  const json s = response_settings(request({{"instructions", "be brief"},
                                            {"max_output_tokens", 9},
                                            {"parallel_tool_calls", false},
                                            {"reasoning", {{"effort", "low"}, {"summary", "auto"}}},
                                            {"store", true},
                                            {"temperature", 0},
                                            {"text", {{"format", format}}},
                                            {"tool_choice", "required"},
                                            {"tools", {kTool}},
                                            {"top_p", 0.5},
                                            {"truncation", "auto"},
                                            {"user", "u"},
                                            {"metadata", {{"k", "v"}}}}));
  EXPECT_EQ(s["instructions"], "be brief");
  EXPECT_EQ(s["max_output_tokens"], 9);
  EXPECT_EQ(s["parallel_tool_calls"], false);
  EXPECT_EQ(s["reasoning"], json({{"effort", "low"}, {"summary", "auto"}}));
  EXPECT_EQ(s["store"], false) << "ebb stores nothing, whatever was asked";
  EXPECT_EQ(s["temperature"], 0);
  EXPECT_EQ(s["text"], json({{"format", format}}));
  EXPECT_EQ(s["tool_choice"], "required");
  EXPECT_EQ(s["tools"], json::array({kTool})) << "tools echoed in Responses' own form";
  EXPECT_EQ(s["top_p"], 0.5);
  EXPECT_EQ(s["truncation"], "auto");
  EXPECT_EQ(s["user"], "u");
  EXPECT_EQ(s["metadata"], json({{"k", "v"}}));
}

// A body and the start of its 400 message.
struct BadCase {
  const char* name;
  json body;
  const char* message;
};

class ResponsesBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ResponsesBad, Is400) {
  try {
    parse_responses(GetParam().body);
    FAIL() << "accepted: " << GetParam().body.dump();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind(GetParam().message, 0), 0u) << e.what();
  }
}

json input(const char* items) { return request({{"input", json::parse(items)}}); }

INSTANTIATE_TEST_SUITE_P(
    Responses, ResponsesBad,
    ::testing::Values(
        BadCase{"no_model", {{"input", "hi"}}, "model is required"},
        BadCase{"no_input", {{"model", "m"}}, "'input' is required"},
        BadCase{"input_number", request({{"input", 3}}), "'input' must be a string or an array of input items"},
        BadCase{"input_empty_array", request({{"input", json::array()}}), "'input' must not be empty"},
        BadCase{"previous_response_id", request({{"previous_response_id", "resp_1"}}),
                "ebb's /v1/responses is stateless: 'previous_response_id' is not supported"},
        BadCase{"conversation", request({{"conversation", "conv_1"}}),
                "ebb's /v1/responses is stateless: 'conversation' is not supported"},
        BadCase{"background", request({{"background", true}}),
                "ebb's /v1/responses is stateless: background responses"},
        BadCase{"stored_prompt", request({{"prompt", {{"id", "pmpt_1"}}}}), "ebb's /v1/responses is stateless: stored"},
        BadCase{"item_reference", input(R"([{"type":"item_reference","id":"msg_1"}])"),
                "ebb's /v1/responses is stateless: 'item_reference'"},
        BadCase{"unknown_item", input(R"([{"type":"web_search_call","id":"ws_1"}])"),
                "input[0]: input items of type 'web_search_call' are not supported"},
        BadCase{"item_without_type", input(R"([{"content":"hi"}])"), "input[0] needs a string 'type'"},
        BadCase{"item_not_object", input(R"(["hi"])"), "input[0] must be an object"},
        BadCase{"bad_role", input(R"([{"role":"tool","content":"x"}])"), "input[0]: unsupported message role 'tool'"},
        BadCase{"image_part",
                input(R"([{"role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,AA"}]}])"),
                "images are not supported: ebb has no vision support yet"},
        BadCase{"file_part", input(R"([{"role":"user","content":[{"type":"input_file","file_id":"f"}]}])"),
                "file inputs are not supported"},
        BadCase{"audio_part", input(R"([{"role":"user","content":[{"type":"input_audio"}]}])"),
                "input[0]: content parts of type 'input_audio' are not supported"},
        BadCase{"text_part_without_text", input(R"([{"role":"user","content":[{"type":"input_text"}]}])"),
                "an input_text part needs a string 'text'"},
        BadCase{"content_number", input(R"([{"role":"user","content":3}])"), "input[0]: 'content' must be"},
        BadCase{"function_call_without_call_id", input(R"([{"type":"function_call","name":"f","arguments":"{}"}])"),
                "input[0] needs a string 'call_id'"},
        BadCase{"function_call_arguments_object",
                input(R"([{"type":"function_call","call_id":"c","name":"f","arguments":{}}])"),
                "input[0] needs a string 'arguments'"},
        BadCase{"function_call_arguments_not_json",
                input(R"([{"type":"function_call","call_id":"c","name":"f","arguments":"{oops"}])"),
                "tool call 'f': 'arguments' must be a JSON object"},
        BadCase{"output_without_call_id", input(R"([{"type":"function_call_output","output":"x"}])"),
                "input[0] needs a string 'call_id'"},
        BadCase{"output_missing", input(R"([{"type":"function_call_output","call_id":"c"}])"),
                "input[0] needs an 'output'"},
        BadCase{"output_image",
                input(R"([{"type":"function_call_output","call_id":"c","output":[{"type":"input_image"}]}])"),
                "images are not supported"},
        BadCase{"reasoning_summary_not_array", input(R"([{"type":"reasoning","summary":"x"}])"),
                "a reasoning item's 'summary' must be an array"},
        BadCase{"reasoning_part_string", input(R"([{"type":"reasoning","summary":["x"]}])"),
                "each part of a reasoning item's 'summary' needs a string 'text'"},
        BadCase{"content_part_string", input(R"([{"role":"user","content":["x"]}])"),
                "input[0]: content parts of type '' are not supported"},
        BadCase{"content_object", input(R"([{"role":"user","content":{"text":"x"}}])"), "input[0]: 'content' must be"},
        BadCase{"tool_not_object", request({{"tools", {"f"}}}), "tools of type '' are not supported"},
        BadCase{"tool_choice_number", request({{"tool_choice", 1}}), "'tool_choice' must be"},
        BadCase{"text_format_string", request({{"text", {{"format", "json"}}}}), "'text.format.type'"},
        BadCase{"instructions_number", request({{"instructions", 3}}), "'instructions' must be a string"},
        BadCase{"web_search_tool", request({{"tools", {{{"type", "web_search"}}}}}),
                "tools of type 'web_search' are not supported: ebb serves function tools only"},
        BadCase{"nested_chat_tool", request({{"tools", {{{"type", "function"}, {"function", {{"name", "f"}}}}}}}),
                "a function tool needs a string 'name'"},
        BadCase{"tools_not_array", request({{"tools", "f"}}), "'tools' must be an array"},
        BadCase{"tool_choice_hosted", request({{"tool_choice", {{"type", "file_search"}}}}), "'tool_choice' must be"},
        BadCase{"tool_choice_unknown_string", request({{"tool_choice", "sometimes"}}), "'tool_choice' must be"},
        BadCase{"text_format_unknown", request({{"text", {{"format", {{"type", "xml"}}}}}}), "'text.format.type'"},
        BadCase{"json_schema_without_schema", request({{"text", {{"format", {{"type", "json_schema"}}}}}}),
                "'text.format.schema' must be a JSON schema object"},
        BadCase{"text_not_object", request({{"text", "json"}}), "'text' must be an object"},
        BadCase{"reasoning_not_object", request({{"reasoning", "high"}}), "'reasoning' must be an object"},
        BadCase{"reasoning_effort_bad", request({{"reasoning", {{"effort", "max"}}}}), "'reasoning.effort' must be"},
        BadCase{"max_output_tokens_zero", request({{"max_output_tokens", 0}}),
                "'max_output_tokens' must be a positive integer"},
        BadCase{"max_output_tokens_string", request({{"max_output_tokens", "10"}}), "'max_output_tokens' must be"},
        BadCase{"temperature_high", request({{"temperature", 3}}), "'temperature' must be a number from 0"},
        BadCase{"top_p_string", request({{"top_p", "x"}}), "'top_p' must be a number"},
        BadCase{"stream_string", request({{"stream", "yes"}}), "'stream' must be a boolean"},
        BadCase{"store_string", request({{"store", "yes"}}), "'store' must be a boolean"},
        BadCase{"metadata_array", request({{"metadata", json::array()}}), "'metadata' must be an object"},
        BadCase{"truncation_bad", request({{"truncation", "left"}}), "'truncation' must be"},
        BadCase{"keep_alive_bad", request({{"keep_alive", true}}), "keep_alive"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
