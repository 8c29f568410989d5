#pragma once
// Renders chat messages with a model's template. Order of attempts: the GGUF's Jinja template
// through llama-common, libllama's built-in template matcher, then plain "role: content" lines.
// This is the only file that includes llama-common (and its vendored nlohmann-json ABI).
#include <memory>
#include <string>
#include <vector>

struct llama_model;

namespace ebb::engine {

struct ChatMessage {
  std::string role, content;
};

class ChatTemplate {
 public:
  explicit ChatTemplate(const llama_model* model);
  ~ChatTemplate();
  std::string apply(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebb::engine
