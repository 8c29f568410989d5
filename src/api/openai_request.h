#pragma once
// OpenAI's request bodies translated into ebb's own (Ollama's) requests, so that the /v1 routes
// take the same path as /api/chat, /api/generate and /api/embed: one request path inside, several
// response shapes outside. Pure: no I/O.
//
// What ebb cannot do as asked is a std::invalid_argument (400) that says so: n > 1, image parts,
// echo, token prompts. Fields ebb has no use for (user, store, metadata,
// logit_bias, parallel_tool_calls, service_tier, ...) are ignored, as are unknown ones.
#include <nlohmann/json.hpp>

#include "api/generate_request.h"

namespace ebb::api {

// The /api/chat body for a /v1/chat/completions body:
// - messages: roles system, developer (as system), user, assistant, tool; content a string, null,
//   or an array of parts ("text" parts joined by newlines; image parts are a 400); an assistant's
//   tool_calls (arguments a JSON string) become Ollama's (arguments an object) with their ids; a
//   tool message's tool_call_id is kept, and the called function's name found from it;
//   reasoning_content (or reasoning) in the history becomes thinking.
// - options: temperature (default 1, as OpenAI), top_p (default 1), seed, stop (a string or an
//   array), frequency_penalty, presence_penalty, max_completion_tokens or max_tokens
//   (num_predict); "grammar" (a GBNF grammar, llama-server's extension: options.grammar).
// - response_format: text (none), json_object ("json"), json_schema (its schema).
// - tools and tool_choice as given (Ollama's are OpenAI's); reasoning_effort (or reasoning.effort):
//   "none" is think false, "minimal"/"low" low, "medium", "high"/"xhigh" high.
// - logprobs (a boolean) and top_logprobs (0..20; a 400 without "logprobs": true, as OpenAI).
// - stream; keep_alive (ebb's extension, as on /api/chat: the model's idle timer after this request).
nlohmann::json chat_body_from_openai(const nlohmann::json& body);

// The /api/generate body for a /v1/completions body: the prompt raw (no chat template, as
// OpenAI's completions are), a string or an array of one string; max_tokens defaults to 16, as
// in OpenAI; the same sampling fields as chat; logprobs, the legacy integer 0..5 (the most likely
// tokens listed per position), as logprobs with top_logprobs; suffix (fill in the middle: not raw
// then, the model's insert format lays it out). echo and best_of > 1 are a 400.
nlohmann::json generate_body_from_openai(const nlohmann::json& body);

struct OpenAIGenerateRequest {
  GenerateRequest generate;    // as /api/chat or /api/generate parses the translated body
  bool include_usage = false;  // stream_options.include_usage
};
OpenAIGenerateRequest parse_openai_chat(const nlohmann::json& body);
// A completion always generates: an empty prompt starts from the beginning of a text, it does not
// only load the model as /api/generate's does.
OpenAIGenerateRequest parse_openai_completion(const nlohmann::json& body);

// /v1/embeddings: "input" a string, an array of strings, an array of token ids or an array of
// arrays of token ids (none of them empty); "dimensions"; "encoding_format" "float" (default) or
// "base64"; keep_alive (ebb's extension). `embed_body` is an /api/embed body whose "input" holds strings and token arrays.
struct OpenAIEmbedRequest {
  nlohmann::json embed_body;
  bool base64 = false;
};
OpenAIEmbedRequest embed_from_openai(const nlohmann::json& body);

// An embedding as OpenAI's base64 encoding gives it: the little-endian float32 bytes, base64.
std::string embedding_base64(const std::vector<float>& v);

}  // namespace ebb::api
