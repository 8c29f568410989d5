#pragma once
// Renders chat messages with a model's template. Order of attempts: the GGUF's Jinja template
// through llama-common, libllama's built-in template matcher, then plain "role: content" lines.
// Only chat_template.cpp, chat_format.cpp and plain_chat_render.cpp include llama-common (and its
// vendored JSON), through chat_template_impl.h.
#include <memory>
#include <string>
#include <vector>

#include "engine/chat_format.h"

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
  // Tools and reasoning (chat_format.cpp). Throws std::invalid_argument when the template cannot
  // render the request (no Jinja template, or one without tool support asked for tools).
  ChatPrompt render(const ChatRequest& request) const;
  // What the GGUF's Jinja template handles.
  bool supports_tools() const;
  bool supports_thinking() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ebb::engine
