#include "engine/plain_chat_render.h"

#include <ctime>
#include <iomanip>
#include <sstream>

#include "chat-auto-parser.h"
#include "common.h"
#include "llama.h"

namespace ebb::engine {

namespace {

// The date keys common_chat_templates_apply gives every template (Llama 3's date_string).
std::string local_time(const char* format) {
  std::time_t t = std::time(nullptr);
  std::tm tm = *std::localtime(&t);
  std::ostringstream s;
  s << std::put_time(&tm, format);
  return s.str();
}

std::string token_text(const llama_vocab* vocab, llama_token t) {
  return t == LLAMA_TOKEN_NULL ? std::string() : common_token_to_piece(vocab, t, true);
}

// Conversations whose renderings must match llama-common's before the one-pass path is trusted:
// each role alone and in the orders clients send, a system turn first (some templates fold it
// into the user turn), OpenAI's developer role, and empty text.
const std::vector<std::vector<ChatMessage>> kProbes = {
    {{"user", "Hello"}},
    {{"system", "Be brief."}, {"user", "Hi there"}},
    {{"system", "S"}, {"user", "a"}, {"assistant", "b"}, {"user", "c"}},
    {{"developer", "D"}, {"user", "q"}},
    {{"user", "one"}, {"assistant", "two"}},
    {{"user", ""}},
};

}  // namespace

std::string full_chat_render(const common_chat_templates* full, const std::vector<ChatMessage>& msgs,
                             bool add_generation_prompt) {
  common_chat_templates_inputs in;
  in.add_generation_prompt = add_generation_prompt;
  in.use_jinja = true;
  for (const auto& m : msgs) {
    common_chat_msg cm;
    cm.role = m.role;
    cm.content = m.content;
    in.messages.push_back(cm);
  }
  return common_chat_templates_apply(full, in).prompt;
}

TemplateTokens TemplateTokens::of(const llama_model* model) {
  const llama_vocab* vocab = llama_model_get_vocab(model);
  return {token_text(vocab, llama_vocab_bos(vocab)), token_text(vocab, llama_vocab_eos(vocab)),
          llama_vocab_get_add_bos(vocab), llama_vocab_get_add_eos(vocab)};
}

PlainChatRender::PlainChatRender(std::unique_ptr<common_chat_template> tmpl, const TemplateTokens& tokens)
    : tmpl_(std::move(tmpl)),
      tokens_(tokens),
      developer_is_system_(tmpl_->source().find("<|channel|>") == std::string::npos) {}

std::unique_ptr<PlainChatRender> PlainChatRender::verified(const common_chat_templates* full,
                                                           const TemplateTokens& tokens) {
  // llama-common trims this family's message text before rendering (StepFun).
  const std::string source = common_chat_templates_source(full);
  if (source.find("You have access to the following functions in JSONSchema format") != std::string::npos)
    return nullptr;
  // The tool-use variant is only chosen when tools are sent; plain requests get the default.
  std::unique_ptr<PlainChatRender> r;
  try {
    r.reset(new PlainChatRender(std::make_unique<common_chat_template>(source, tokens.bos, tokens.eos), tokens));
    for (const auto& probe : kProbes)
      for (bool gen : {true, false})
        if (r->render(probe, gen) != full_chat_render(full, probe, gen)) return nullptr;
  } catch (const std::exception&) {
    return nullptr;  // either path throwing on a probe: keep the whole path, which reports it
  }
  return r;
}

std::string PlainChatRender::render(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const {
  // The message fixes common_chat_templates_apply makes for plain text turns.
  common_json messages = common_json::array();
  for (const auto& m : msgs) {
    common_chat_msg cm;
    cm.role = developer_is_system_ && m.role == "developer" ? "system" : m.role;
    cm.content = m.content;
    messages.push_back(cm.to_json_oaicompat(false));
  }
  if (!tmpl_->original_caps().supports_system_role && !messages.empty() &&
      messages[0]["role"].get<std::string>() == "system") {
    if (messages.size() > 1)
      messages[1]["content"] =
          messages[0]["content"].get<std::string>() + "\n" + messages[1]["content"].get<std::string>();
    messages.erase(0);
  }
  autoparser::generation_params p;
  p.messages = std::move(messages);
  p.add_generation_prompt = add_generation_prompt;
  p.add_bos = tokens_.add_bos;
  p.add_eos = tokens_.add_eos;
  p.extra_context = common_json::object();
  p.extra_context["datetime"] = local_time("%b %d %Y");
  p.extra_context["date_string"] = local_time("%d %b %Y");
  return common_chat_template_direct_apply(*tmpl_, p);
}

}  // namespace ebb::engine
