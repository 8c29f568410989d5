#pragma once
// OpenAI's Responses API request (POST /v1/responses), stateless as Ollama serves it, translated
// into a Chat Completions body and from there into ebb's /api/chat request
// (api/openai_request.h), so it takes the same path as every other generation. Pure: no I/O.
//
// - input: a string (one user message) or an array of items: messages ({"type": "message"} or a
//   bare {"role", "content"}; roles user, system, developer, assistant; content a string or
//   input_text / output_text / refusal parts; image parts are a 400), function_call ({call_id,
//   name, arguments: JSON text}: an assistant's tool call; consecutive calls are one turn),
//   function_call_output ({call_id, output: string or text parts}: the tool's answer), reasoning
//   ({summary: [summary_text], content: [reasoning_text]}: the thinking of the next assistant
//   turn; its content when given, else its summary).
// - instructions (a system message first), tools (Responses' flat function tools; other tool
//   types are a 400), tool_choice ("auto", "none", "required", {"type": "function", "name"}),
//   text.format (text, json_object, json_schema), reasoning.effort, max_output_tokens,
//   temperature, top_p, stream, keep_alive (ebb's), grammar (llama-server's GBNF extension).
// - previous_response_id, conversation, background and stored prompts are a 400: nothing is
//   stored, so the client sends the whole conversation. store, metadata, user, truncation,
//   parallel_tool_calls, include, ... are accepted and ignored.
#include <nlohmann/json.hpp>

#include "api/generate_request.h"

namespace ebb::api {

// The /api/chat body for a /v1/responses body (by way of the /v1/chat/completions body it asks
// for: chat_body_from_openai).
nlohmann::json chat_body_from_responses(const nlohmann::json& body);

// The request settings a response object echoes, OpenAI's defaults for those not given:
// instructions, max_output_tokens, parallel_tool_calls, previous_response_id (null), reasoning
// {effort, summary}, store (false: ebb stores nothing), temperature, text {format}, tool_choice,
// tools (as given), top_p, truncation, user, metadata.
nlohmann::json response_settings(const nlohmann::json& body);

struct ResponsesRequest {
  GenerateRequest generate;  // as /api/chat parses the translated body
  nlohmann::json settings;   // response_settings
};
ResponsesRequest parse_responses(const nlohmann::json& body);

}  // namespace ebb::api
