#pragma once
// What a model can do, named as Ollama's /api/show "capabilities" names it, decided from the GGUF
// header alone, and Ollama's error text for a request that needs what a model lacks.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/gguf_reader.h"

namespace ebb {

enum class Capability { Completion, Embedding, Vision, Tools, Insert, Thinking };

// "completion", "embedding", "vision", "tools", "insert", "thinking".
const char* to_string(Capability cap);
std::optional<Capability> parse_capability(std::string_view name);

// What a chat template refers to.
struct TemplateCapabilities {
  bool tools = false;     // `tools` or `tool_call...` inside a Jinja tag, a string there holding "tool_call"
                          // ('<tool_call>'), or Go's .Tools / .ToolCalls
  bool thinking = false;  // `enable_thinking`, `thinking`, `reasoning_content` inside a tag, or `<think>` /
                          // `</think>` anywhere
  bool operator==(const TemplateCapabilities&) const = default;
};
// Jinja tags ({{ }}, {% %}) are scanned for identifiers and string keys (message['tool_calls']);
// text outside them, and comments ({# #}), do not count, so "You have no tools" in a system
// prompt is not tool support (Ollama's plain substring test would say it is).
TemplateCapabilities template_capabilities(std::string_view chat_template);

// In Ollama's order: "completion" (or "embedding"), then "tools", "insert", "thinking".
// - "embedding" for embedding models (GgufInfo::is_embedding_model: a pooling type, or an
//   encoder-only architecture), the same rule /api/embed and the runner pool by; every other model
//   is "completion". (Any model can still be embedded with mean pooling, as docs/api.md says.)
// - "tools" and "thinking" from tokenizer.chat_template (template_capabilities).
// - "insert" when the header names fill-in-the-middle tokens (has_fim_tokens). A request's own Go
//   template that reads .Suffix gives it too (api::missing_capability). Never "vision" (no projectors).
std::vector<Capability> model_capabilities(const GgufInfo& info);
// tokenizer.ggml.fim_{pre,suf,mid}_token_id (or the older prefix/suffix/middle_token_id) are all set.
bool has_fim_tokens(const GgufInfo& info);
bool has_capability(const GgufInfo& info, Capability cap);

// Ollama's 400 message for a request on `model` (the name as the request gave it) that needs
// `cap`, which the model lacks. Ollama words them differently by where they are checked:
// - tools, insert, vision, embedding (the scheduler's check; Ollama prints the model's full name,
//   ebb its name with a tag): `m:latest does not support tools`
// - thinking (checked first, name quoted): `"m" does not support thinking`
// - completion, from an embedding model: `"m" does not support generate` (`endpoint` "chat": chat)
std::string capability_error(std::string_view model, Capability cap, std::string_view endpoint = "generate");
inline constexpr int kCapabilityErrorStatus = 400;

}  // namespace ebb
