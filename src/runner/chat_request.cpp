#include "runner/chat_request.h"

#include "engine/engine.h"
#include "runner/request_error.h"

namespace ebb::runner {

using json = nlohmann::json;

namespace {

void need(bool ok, const std::string& message) {
  if (!ok) throw RequestError(message);
}

std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  need(it->is_string(), std::string("'") + key + "' must be a string");
  return it->get<std::string>();
}

// Ollama's {"function": {"name", "arguments": object}} (an "id" beside "function" is kept).
engine::ToolCall tool_call_of(const json& c) {
  need(c.is_object() && c.contains("function") && c["function"].is_object(),
       "each tool call needs a 'function' object");
  const json& f = c["function"];
  engine::ToolCall call{text_of(f, "name"), "{}", text_of(c, "id")};
  if (auto a = f.find("arguments"); a != f.end() && !a->is_null())
    call.arguments = a->is_string() ? a->get<std::string>() : a->dump();
  return call;
}

engine::ToolSpec tool_of(const json& t) {
  need(
      t.is_object() && t.value("type", "function") == "function" && t.contains("function") && t["function"].is_object(),
      "each tool needs \"type\": \"function\" and a 'function' object");
  const json& f = t["function"];
  engine::ToolSpec spec{text_of(f, "name"), text_of(f, "description"), "{}"};
  need(!spec.name.empty(), "each tool function needs a 'name'");
  if (auto p = f.find("parameters"); p != f.end() && !p->is_null()) {
    need(p->is_object(), "tool '" + spec.name + "': 'parameters' must be a JSON schema object");
    spec.parameters = p->dump();
  }
  return spec;
}

std::string fmt_call_id(size_t n) {
  std::string digits = std::to_string(n % 100000);
  return "call" + std::string(5 - digits.size(), '0') + digits;
}

}  // namespace

std::optional<engine::ChatRequest> chat_request_of(const engine::Engine& engine, const json& msg) {
  // /api/generate goes this way too (reasoning), as the one user turn of its prompt; a raw
  // prompt or a request template keeps the plain path.
  const std::string mode = msg.value("mode", "");
  const bool chat = mode == "chat";
  if (!text_of(msg, "template").empty() || (!chat && (mode != "generate" || msg.value("raw", false))))
    return std::nullopt;
  const engine::ChatTemplate& tmpl = engine.chat_template();
  engine::ChatRequest r;

  const json tools = msg.value("tools", json());
  need(tools.is_null() || tools.is_array(), "'tools' must be an array");
  if (tools.is_array())
    for (const auto& t : tools) r.tools.push_back(tool_of(t));
  if (msg.contains("tool_choice") && !msg["tool_choice"].is_null()) {
    const json& c = msg["tool_choice"];
    if (c.is_string()) {
      r.tool_choice = c;
      need(r.tool_choice == "auto" || r.tool_choice == "none" || r.tool_choice == "required",
           "'tool_choice' must be \"auto\", \"none\", \"required\" or a function");
    } else {  // {"type": "function", "function": {"name"}}: that tool, and a call is required
      need(c.is_object() && c.contains("function") && c["function"].is_object(),
           "'tool_choice' must be \"auto\", \"none\", \"required\" or a function");
      const std::string name = text_of(c["function"], "name");
      std::erase_if(r.tools, [&](const engine::ToolSpec& t) { return t.name != name; });
      need(!r.tools.empty(), "'tool_choice' names a function that is not among the tools: " + name);
      r.tool_choice = "required";
    }
  }

  const json think = msg.value("think", json());
  if (think.is_boolean()) {
    r.think = think.get<bool>() ? engine::Think::On : engine::Think::Off;
  } else if (think.is_string()) {
    r.reasoning_effort = think;
    need(r.reasoning_effort == "low" || r.reasoning_effort == "medium" || r.reasoning_effort == "high",
         "'think' must be a boolean or \"low\", \"medium\", \"high\"");
    r.think = engine::Think::On;
  } else {
    need(think.is_null(), "'think' must be a boolean or \"low\", \"medium\", \"high\"");
  }
  if (r.think == engine::Think::On && !tmpl.supports_thinking())
    throw RequestError("this model does not support thinking");

  bool tool_history = false;
  // Ollama's messages carry no call ids, but some templates need them (Mistral's: 9 letters or
  // digits): a call without one gets "call" + 5 digits, and a tool result without one answers
  // the oldest call not answered yet.
  size_t calls_made = 0;
  std::vector<std::string> unanswered;
  json messages = msg.value("messages", json::array());
  if (!chat) {  // system, a stored model's example messages (as Ollama), then the prompt
    const json examples = std::move(messages);
    messages = json::array();
    if (const std::string system = text_of(msg, "system"); !system.empty())
      messages.push_back({{"role", "system"}, {"content", system}});
    for (const json& m : examples) messages.push_back(m);
    messages.push_back({{"role", "user"}, {"content", text_of(msg, "prompt")}});
  }
  for (const auto& m : messages) {
    engine::ChatTurn t;
    t.role = m.value("role", "user");
    t.content = text_of(m, "content");
    t.thinking = text_of(m, "thinking");
    t.tool_name = text_of(m, "tool_name");
    t.tool_call_id = text_of(m, "tool_call_id");
    if (auto calls = m.find("tool_calls"); calls != m.end() && !calls->is_null()) {
      need(calls->is_array(), "'tool_calls' must be an array");
      for (const auto& c : *calls) t.tool_calls.push_back(tool_call_of(c));
    }
    for (auto& c : t.tool_calls) {
      if (c.id.empty()) c.id = fmt_call_id(++calls_made);
      unanswered.push_back(c.id);
    }
    if (t.role == "tool") {
      if (t.tool_call_id.empty() && !unanswered.empty()) t.tool_call_id = unanswered.front();
      std::erase(unanswered, t.tool_call_id);
    }
    tool_history = tool_history || !t.tool_calls.empty() || t.role == "tool";
    r.messages.push_back(std::move(t));
  }

  const bool wants_tools = !r.tools.empty() && r.tool_choice != "none";
  if (!wants_tools && !tool_history && r.think == engine::Think::Default && !tmpl.supports_thinking())
    return std::nullopt;
  if (wants_tools && !tmpl.supports_tools()) throw RequestError("this model does not support tools");
  const json format = msg.value("options", json::object()).value("format", json());
  if (format.is_object())
    r.json_schema = format.dump();
  else if (format == "json")
    r.json_schema = R"({"type":"object"})";
  return r;
}

}  // namespace ebb::runner
