#pragma once
// Plain conversations (role and text, no tools, no reasoning) rendered with one pass of the
// GGUF's Jinja template. common_chat_templates_apply renders the same prompt but also analyses
// the template and builds an output parser on every call (about 0.9 ms for ChatML here), work
// a plain request throws away, on the runner's loop between two decode steps.
// Includes llama-common (chat_template_impl.h's rule: never next to ebb's nlohmann-json).
#include <memory>
#include <string>
#include <vector>

#include "chat.h"
#include "engine/chat_template.h"

struct llama_model;

namespace ebb::engine {

// What common_chat_templates_init takes from the vocabulary.
struct TemplateTokens {
  std::string bos, eos;
  bool add_bos = false, add_eos = false;
  static TemplateTokens of(const llama_model* model);
};

class PlainChatRender {
 public:
  // nullptr when this template must keep llama-common's whole path (`full`, made with the same
  // tokens): a probe set of conversations rendered both ways differs (a template llama-common
  // adjusts messages for), or the template is one whose message text llama-common rewrites.
  static std::unique_ptr<PlainChatRender> verified(const common_chat_templates* full, const TemplateTokens& tokens);

  std::string render(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;

 private:
  PlainChatRender(std::unique_ptr<common_chat_template> tmpl, const TemplateTokens& tokens);

  std::unique_ptr<common_chat_template> tmpl_;
  TemplateTokens tokens_;
  bool developer_is_system_;  // OpenAI's "developer" role, renamed except for GPT-OSS templates
};

// llama-common's whole path for the same messages (what PlainChatRender must equal).
std::string full_chat_render(const common_chat_templates* full, const std::vector<ChatMessage>& msgs,
                             bool add_generation_prompt);

}  // namespace ebb::engine
