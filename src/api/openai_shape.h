#pragma once
// OpenAI's response objects for /v1/chat/completions ("chat.completion", streamed as
// "chat.completion.chunk") and /v1/completions ("text_completion"), and OpenAI's error object.
// Streamed, every object is one server-sent event, "data: {json}\n\n", and the stream ends with
// "data: [DONE]\n\n".
#include <atomic>
#include <cstdint>
#include <string>

#include "api/response_shape.h"

namespace ebb::api {

// The error object every /v1 route answers with:
// {"error": {"message", "type", "param": null, "code": null}}. `type` by status: 400 (and other
// 4xx) "invalid_request_error", 404 "not_found_error", 5xx "api_error". An unknown model's 404
// has OpenAI's code "model_not_found".
std::string openai_error_type(int status);
nlohmann::json openai_error(int status, const std::string& message);

// "usage" from the runner's done message: prompt_tokens (the whole prompt, cached part
// included), completion_tokens, total_tokens, and prompt_tokens_details.cached_tokens (the prompt
// tokens that were not evaluated again: a cached prefix).
nlohmann::json openai_usage(const nlohmann::json& done);

// A random id: `prefix` and 24 letters and digits ("chatcmpl-…", "call_…").
std::string openai_id(const std::string& prefix);

class OpenAIShape : public ResponseShape {
 public:
  enum class Kind { Chat, Completion };
  // `include_usage`: stream_options.include_usage (a usage chunk before [DONE]). `logprobs`: the
  // request asked for them; each choice then carries its tokens' (api/logprob_json.h), every
  // other choice "logprobs": null.
  OpenAIShape(Kind kind, std::string model, bool include_usage, bool logprobs = false);
  // With a given id and creation time (unit tests).
  OpenAIShape(Kind kind, std::string model, bool include_usage, std::string id, int64_t created, bool logprobs = false);

  const std::string& id() const { return id_; }

  std::string content_type() const override { return "text/event-stream"; }
  // Chat: the first chunk, {"role": "assistant", "content": ""}, as OpenAI sends it.
  std::string opening() const override;
  std::string chunk(const MessageDelta& delta) const override;
  // The chunk with finish_reason, the usage chunk (when asked for), and [DONE].
  std::string final(const nlohmann::json& done, Timing timing) const override;
  std::string error(const std::string& message) const override;
  nlohmann::json whole(const MessageDelta& message, const nlohmann::json& done, Timing timing) const override;

  // OpenAI's tool calls for the runner's ({"index", "name", "arguments": object or text, "id"?}):
  // {"id", "type": "function", "function": {"name", "arguments": JSON text}}, with "index" when
  // `with_index` (stream deltas). A call without an id gets "call_" and 24 random characters.
  static nlohmann::json tool_calls(const nlohmann::json& calls, bool with_index);

 private:
  nlohmann::json object(const char* type) const;  // id, object, created, model, system_fingerprint
  nlohmann::json choice_chunk(nlohmann::json choice) const;
  static std::string event(const nlohmann::json& j) { return "data: " + wire_json(j) + "\n\n"; }
  std::string finish_reason(const nlohmann::json& done, bool tool_calls) const;
  // The choice's "logprobs" for these entries (a completion's text_offset goes on from the
  // characters of the tokens before them; `streamed` counts them across chunks).
  nlohmann::json choice_logprobs(const std::vector<Logprob>& entries, bool streamed) const;

  Kind kind_;
  std::string model_;
  bool include_usage_;
  bool logprobs_;
  std::string id_;
  int64_t created_;
  // A streamed chat sent tool calls: its finish_reason is "tool_calls". Tool calls go out on the
  // HTTP thread only, as does the final chunk; atomic all the same.
  mutable std::atomic<bool> sent_tool_calls_{false};
  // A streamed completion's characters so far, for text_offset. Logprobs go out on the HTTP
  // thread only (the token writer takes plain text); atomic all the same.
  mutable std::atomic<size_t> streamed_chars_{0};
};

}  // namespace ebb::api
