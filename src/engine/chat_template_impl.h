#pragma once
// ChatTemplate's state, shared by chat_template.cpp (plain rendering) and chat_format.cpp (tools
// and reasoning). Includes llama-common: never include this next to ebb's nlohmann-json.
#include "chat.h"
#include "engine/chat_template.h"
#include "engine/plain_chat_render.h"

struct llama_model;

namespace ebb::engine {

struct ChatTemplate::Impl {
  const llama_model* model = nullptr;
  common_chat_templates_ptr jinja;  // null when the GGUF has no template or it does not parse
  bool nine_char_call_ids = false;  // the template raises an error for other ids (Mistral's)
  // Asked once at load: llama-common answers each by rendering the template (about 0.9 ms).
  bool tools = false, thinking = false;
  std::unique_ptr<PlainChatRender> plain;  // null: plain requests take llama-common's whole path
};

}  // namespace ebb::engine
