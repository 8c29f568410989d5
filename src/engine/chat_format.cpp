#include "engine/chat_format.h"

#include <stdexcept>

#include "common.h"
#include "common/call_id.h"
#include "engine/chat_template_impl.h"
#include "llama.h"

namespace ebb::engine {

namespace {

common_chat_msg to_common(const ChatTurn& t, bool nine_char_call_ids) {
  const auto id = [&](const std::string& s) { return nine_char_call_ids && !s.empty() ? nine_char_call_id(s) : s; };
  common_chat_msg m;
  m.role = t.role;
  m.content = t.content;
  m.reasoning_content = t.thinking;
  m.tool_name = t.tool_name;
  m.tool_call_id = id(t.tool_call_id);
  for (const auto& c : t.tool_calls) m.tool_calls.push_back({c.name, c.arguments, id(c.id)});
  return m;
}

ParsedMessage from_common(const common_chat_msg& m) {
  ParsedMessage p{m.content, m.reasoning_content, {}};
  for (const auto& c : m.tool_calls) p.tool_calls.push_back({c.name, c.arguments, c.id});
  return p;
}

// The lazy grammar's triggers as llama.cpp's sampler takes them (as common/sampling.cpp does).
void add_trigger(ChatPrompt& out, const common_grammar_trigger& t) {
  switch (t.type) {
    case COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN: out.trigger_tokens.push_back(t.token); break;
    case COMMON_GRAMMAR_TRIGGER_TYPE_WORD: out.trigger_patterns.push_back(regex_escape(t.value)); break;
    case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN: out.trigger_patterns.push_back(t.value); break;
    case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL: {
      const std::string& p = t.value;
      out.trigger_patterns.push_back(p.empty() ? "^$"
                                               : (p.front() == '^' ? "" : "^") + p + (p.back() == '$' ? "" : "$"));
      break;
    }
  }
}

}  // namespace

struct ChatOutputParser::Impl {
  common_chat_parser_params params;
};

ChatOutputParser::ChatOutputParser(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatOutputParser::~ChatOutputParser() = default;

ParsedMessage ChatOutputParser::parse(const std::string& generated, bool partial) const {
  return from_common(common_chat_parse(generated, partial, impl_->params));
}

bool ChatTemplate::supports_tools() const { return impl_->tools; }

bool ChatTemplate::supports_thinking() const { return impl_->thinking; }

ChatPrompt ChatTemplate::render(const ChatRequest& r) const {
  if (!impl_->jinja) throw std::invalid_argument("this model has no chat template that can render tools or thinking");
  const bool tools = !r.tools.empty() && r.tool_choice != "none";
  if (tools && !supports_tools()) throw std::invalid_argument("this model does not support tools");
  common_chat_templates_inputs in;
  in.use_jinja = true;
  in.add_generation_prompt = true;
  for (const auto& t : r.messages) in.messages.push_back(to_common(t, impl_->nine_char_call_ids));
  for (const auto& t : r.tools) in.tools.push_back({t.name, t.description, t.parameters.empty() ? "{}" : t.parameters});
  in.tool_choice = common_chat_tool_choice_parse_oaicompat(r.tool_choice);
  in.parallel_tool_calls = common_chat_templates_get_caps(impl_->jinja.get())["supports_parallel_tool_calls"];
  in.json_schema = r.json_schema;
  in.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
  in.enable_thinking = r.think != Think::Off;
  if (!r.reasoning_effort.empty()) in.chat_template_kwargs["reasoning_effort"] = "\"" + r.reasoning_effort + "\"";

  common_chat_params p = common_chat_templates_apply(impl_->jinja.get(), in);
  ChatPrompt out;
  out.prompt = p.prompt;
  out.grammar = p.grammar;
  out.grammar_lazy = p.grammar_lazy;
  for (const auto& t : p.grammar_triggers) add_trigger(out, t);
  out.generation_prompt = p.generation_prompt;
  out.stops = p.additional_stops;
  auto parser = std::make_unique<ChatOutputParser::Impl>();
  parser->params = common_chat_parser_params(p);
  parser->params.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
  parser->params.parse_tool_calls = tools;
  if (!p.parser.empty()) parser->params.parser.load(p.parser);
  out.parser = std::make_shared<ChatOutputParser>(std::move(parser));
  return out;
}

llama_sampler* chat_grammar_sampler(const llama_vocab* vocab, const ChatPrompt& chat) {
  if (chat.grammar.empty()) return nullptr;
  llama_sampler* g = nullptr;
  if (chat.grammar_lazy) {
    std::vector<const char*> patterns;
    for (const auto& p : chat.trigger_patterns) patterns.push_back(p.c_str());
    g = llama_sampler_init_grammar_lazy_patterns(vocab, chat.grammar.c_str(), "root", patterns.data(), patterns.size(),
                                                 chat.trigger_tokens.data(), chat.trigger_tokens.size());
  } else {
    g = llama_sampler_init_grammar(vocab, chat.grammar.c_str(), "root");
  }
  if (!g) throw std::runtime_error("the tool-call grammar could not be parsed");
  // The template already opened the assistant turn: the grammar starts after that opening.
  if (!chat.grammar_lazy && !chat.generation_prompt.empty()) {
    const int32_t n =
        -llama_tokenize(vocab, chat.generation_prompt.c_str(), chat.generation_prompt.size(), nullptr, 0, false, true);
    std::vector<llama_token> toks(std::max(n, 0));
    llama_tokenize(vocab, chat.generation_prompt.c_str(), chat.generation_prompt.size(), toks.data(), toks.size(),
                   false, true);
    for (size_t i = 0; i < toks.size(); ++i) {
      char buf[64];
      int len = llama_token_to_piece(vocab, toks[i], buf, sizeof buf, 0, true);
      // Some tokenizers put a space before the first special token; the prompt has none.
      if (i == 0 && len > 0 && std::isspace(static_cast<unsigned char>(buf[0])) &&
          !std::isspace(static_cast<unsigned char>(chat.generation_prompt[0])))
        continue;
      llama_sampler_accept(g, toks[i]);
    }
  }
  return g;
}

}  // namespace ebb::engine
