#pragma once
// Per-token logprobs (common/token_logprob.h) in the APIs' JSON. A token's text is its piece; a
// piece that is not whole UTF-8 (part of a character) shows U+FFFD where wire_json replaces its
// bytes, and "bytes" keeps the exact byte values.
#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/token_logprob.h"

namespace ebb::api {

// Ollama's "logprobs": [{"token", "logprob", "bytes", "top_logprobs"?: [{"token", "logprob",
// "bytes"}]}]; top_logprobs only when some were asked for (Go's omitempty).
nlohmann::json ollama_logprobs(const std::vector<Logprob>& entries);

// OpenAI chat's choice "logprobs": {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}],
// "refusal": null}; top_logprobs always present (empty when none were asked for).
nlohmann::json openai_chat_logprobs(const std::vector<Logprob>& entries);

// OpenAI's legacy completions "logprobs": {"tokens", "token_logprobs", "top_logprobs": [{token:
// logprob}], "text_offset"}. text_offset counts characters from the start of the completion's
// text; `chars_before`: the characters of the tokens before these (a stream's earlier chunks),
// advanced past them.
nlohmann::json openai_completion_logprobs(const std::vector<Logprob>& entries, size_t& chars_before);

}  // namespace ebb::api
