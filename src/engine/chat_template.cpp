#include "engine/chat_template.h"

#include <string_view>

#include <spdlog/spdlog.h>

#include "engine/chat_template_impl.h"
#include "llama.h"

namespace ebb::engine {

ChatTemplate::ChatTemplate(const llama_model* model) : impl_(std::make_unique<Impl>()) {
  impl_->model = model;
  try {
    if (const char* source = llama_model_chat_template(model, nullptr)) {
      impl_->jinja = common_chat_templates_init(model, "");
      // Mistral's templates check `tool_call.id|length != 9` and raise "Tool call IDs should be
      // alphanumeric strings with length 9!".
      impl_->nine_char_call_ids = std::string_view(source).find("length != 9") != std::string_view::npos;
      auto caps = common_chat_templates_get_caps(impl_->jinja.get());
      impl_->tools = caps["supports_tools"] && caps["supports_tool_calls"];
      try {
        impl_->thinking = common_chat_templates_support_enable_thinking(impl_->jinja.get());
      } catch (const std::exception& e) {
        spdlog::warn("chat template: cannot tell whether it thinks ({}); taken as not", e.what());
      }
      impl_->plain = PlainChatRender::verified(impl_->jinja.get(), TemplateTokens::of(model));
      if (!impl_->plain) spdlog::debug("chat template: plain requests take llama-common's whole path");
    }
  } catch (const std::exception& e) {
    spdlog::warn("chat template could not be parsed ({}); using fallbacks", e.what());
  }
}

ChatTemplate::~ChatTemplate() = default;

std::string ChatTemplate::apply(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const {
  if (impl_->jinja) {
    try {
      return impl_->plain ? impl_->plain->render(msgs, add_generation_prompt)
                          : full_chat_render(impl_->jinja.get(), msgs, add_generation_prompt);
    } catch (const std::exception& e) {
      spdlog::warn("jinja chat template failed ({}); trying the built-in matcher", e.what());
    }
  }
  if (const char* tmpl = llama_model_chat_template(impl_->model, nullptr)) {
    std::vector<llama_chat_message> cm;
    for (const auto& m : msgs) cm.push_back({m.role.c_str(), m.content.c_str()});
    std::string buf(4096, '\0');
    int n = llama_chat_apply_template(tmpl, cm.data(), cm.size(), add_generation_prompt, buf.data(),
                                      static_cast<int32_t>(buf.size()));
    if (n > static_cast<int>(buf.size())) {
      buf.resize(n);
      n = llama_chat_apply_template(tmpl, cm.data(), cm.size(), add_generation_prompt, buf.data(),
                                    static_cast<int32_t>(buf.size()));
    }
    if (n >= 0) return buf.substr(0, n);
  }
  std::string out;
  for (const auto& m : msgs) out += m.role + ": " + m.content + "\n";
  if (add_generation_prompt) out += "assistant: ";
  return out;
}

}  // namespace ebb::engine
