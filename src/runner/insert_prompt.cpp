#include "runner/insert_prompt.h"

#include "common/go_template.h"
#include "runner/request_error.h"

namespace ebb::runner {

std::vector<engine::Token> insert_prompt(const engine::Engine& engine, const nlohmann::json& msg) {
  const std::string prompt = msg.value("prompt", ""), suffix = msg.value("suffix", "");
  if (const std::string text = msg.value("template", ""); !text.empty()) {
    GoTemplate tmpl(text);
    if (tmpl.uses_suffix()) {
      TemplateData d;
      d.system = msg.value("system", "");
      d.prompt = prompt;
      d.suffix = suffix;
      return engine.tokenize(tmpl.render(d, /*stop_after_response=*/true), true);
    }
  }
  const engine::Engine::FimTokens fim = engine.fim_tokens();
  if (!fim.complete()) throw RequestError("this model does not support insert");
  std::vector<engine::Token> out = engine.tokenize("", true);  // BOS, where the vocabulary adds one
  const auto append = [&](const std::string& text) {
    const auto t = engine.tokenize(text, false);
    out.insert(out.end(), t.begin(), t.end());
  };
  out.push_back(fim.pre);
  append(prompt);
  out.push_back(fim.suf);
  append(suffix);
  out.push_back(fim.mid);
  return out;
}

}  // namespace ebb::runner
