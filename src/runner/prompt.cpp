#include "runner/prompt.h"

#include "engine/engine.h"

namespace ebb::runner {

using json = nlohmann::json;

namespace {

// Joins consecutive messages of one role; collects the system messages' text.
std::vector<TemplateMessage> collate(const std::vector<TemplateMessage>& in, std::string& system) {
  std::vector<TemplateMessage> out;
  for (const auto& m : in) {
    if (m.role == "system") system += (system.empty() ? "" : "\n\n") + m.content;
    if (!out.empty() && out.back().role == m.role)
      out.back().content += "\n\n" + m.content;
    else
      out.push_back(m);
  }
  return out;
}

}  // namespace

std::string render_with_template(const GoTemplate& tmpl, const std::vector<TemplateMessage>& messages) {
  std::string system;
  std::vector<TemplateMessage> msgs = collate(messages, system);
  if (tmpl.uses_messages()) {
    TemplateData d;
    d.system = system;
    d.messages = std::move(msgs);
    return tmpl.render(d);
  }
  std::string out;
  TemplateData turn;
  turn.system = system;
  auto flush = [&] {
    out += tmpl.render(turn);
    turn = TemplateData{};
  };
  for (const auto& m : msgs) {
    if (m.role == "system") {
      if (!turn.prompt.empty() || !turn.response.empty()) flush();
      turn.system = m.content;
    } else if (m.role == "user") {
      if (!turn.response.empty()) flush();
      turn.prompt = m.content;
    } else if (m.role == "assistant") {
      turn.response = m.content;
    }
  }
  return out + tmpl.render(turn, /*stop_after_response=*/true);
}

std::string render_prompt(const engine::Engine& engine, const json& m) {
  const bool chat = m.value("mode", "generate") == "chat";
  if (!chat && m.value("raw", false)) return m.value("prompt", "");
  std::vector<TemplateMessage> msgs;
  if (chat) {
    for (const auto& x : m.value("messages", json::array()))
      msgs.push_back({x.value("role", "user"), x.value("content", "")});
  } else {
    std::string system = m.value("system", "");
    if (!system.empty()) msgs.push_back({"system", system});
    for (const auto& x : m.value("messages", json::array()))  // a stored model's examples (as Ollama)
      msgs.push_back({x.value("role", "user"), x.value("content", "")});
    msgs.push_back({"user", m.value("prompt", "")});
  }
  std::string tmpl = m.value("template", "");
  if (!tmpl.empty()) return render_with_template(GoTemplate(tmpl), msgs);
  std::vector<engine::ChatMessage> chat_msgs;
  for (auto& x : msgs) chat_msgs.push_back({std::move(x.role), std::move(x.content)});
  return engine.apply_chat_template(chat_msgs, true);
}

}  // namespace ebb::runner
