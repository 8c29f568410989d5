#include "api/generate_request.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "common/capabilities.h"
#include "common/go_template.h"
#include "common/token_logprob.h"

namespace ebb::api {

using json = nlohmann::json;

namespace {

void need(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// The field as a string; "" when absent or null.
std::string string_field(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return "";
  need(body[key].is_string(), std::string("'") + key + "' must be a string");
  return body[key].get<std::string>();
}

bool bool_field(const json& body, const char* key, bool fallback) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  need(body[key].is_boolean(), std::string("'") + key + "' must be a boolean");
  return body[key].get<bool>();
}

// A message's tool calls, Ollama's shape: [{"function": {"name", "arguments": object}}].
json tool_calls_field(const json& x) {
  const json calls = x.value("tool_calls", json());
  if (calls.is_null()) return calls;
  need(calls.is_array(), "'tool_calls' must be an array");
  for (const auto& c : calls) {
    need(c.is_object() && c.value("function", json()).is_object() && c["function"].value("name", json()).is_string(),
         "each tool call needs a 'function' with a string 'name'");
    const json args = c["function"].value("arguments", json::object());
    need(args.is_object() || args.is_string(), "tool call arguments must be an object");
  }
  return calls;
}

json chat_messages(const json& body) {
  json msgs = json::array();
  if (!body.contains("messages") || body["messages"].is_null()) return msgs;  // loads the model, as Ollama
  need(body["messages"].is_array(), "'messages' must be an array");
  for (const auto& x : body["messages"]) {
    need(x.is_object() && x.value("role", json()).is_string() &&
             (!x.contains("content") || x["content"].is_string() || x["content"].is_null()),
         "each message needs a string 'role' and 'content'");
    const json images = x.value("images", json());
    need(images.is_null() || (images.is_array() && images.empty()),
         "images are not supported: ebb has no vision support yet");
    json m = {{"role", x["role"]}, {"content", string_field(x, "content")}};
    for (const char* key : {"thinking", "tool_name", "tool_call_id"})
      if (std::string v = string_field(x, key); !v.empty()) m[key] = v;
    if (json calls = tool_calls_field(x); !calls.is_null()) m["tool_calls"] = std::move(calls);
    msgs.push_back(std::move(m));
  }
  return msgs;
}

// "tools": [{"type": "function", "function": {"name", "description", "parameters": object}}].
json tools_field(const json& body) {
  const json tools = body.value("tools", json());
  if (tools.is_null()) return tools;
  need(tools.is_array(), "'tools' must be an array");
  for (const auto& t : tools) {
    need(t.is_object() && t.value("type", json("function")) == "function" && t.value("function", json()).is_object(),
         "each tool needs \"type\": \"function\" and a 'function' object");
    const json& f = t["function"];
    need(f.value("name", json()).is_string() && !f["name"].get<std::string>().empty(),
         "each tool function needs a string 'name'");
    const json params = f.value("parameters", json());
    need(params.is_null() || params.is_object(),
         "tool '" + f["name"].get<std::string>() + "': 'parameters' must be a JSON schema object");
  }
  return tools;
}

// "top_logprobs": an integer from 0 to 20, as Ollama checks it (asked for or not).
int top_logprobs_field(const json& body) {
  if (!body.contains("top_logprobs") || body["top_logprobs"].is_null()) return 0;
  const json& v = body["top_logprobs"];
  need(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= kMaxTopLogprobs,
       "top_logprobs must be between 0 and " + std::to_string(kMaxTopLogprobs));
  return v.get<int>();
}

// "think": true, false, or "low" / "medium" / "high".
json think_field(const json& body) {
  const json think = body.value("think", json());
  need(think.is_null() || think.is_boolean() || think == "low" || think == "medium" || think == "high",
       "'think' must be a boolean or \"low\", \"medium\", \"high\"");
  return think;
}

}  // namespace

GenerateRequest parse_generate_request(const json& body, bool chat) {
  static const std::set<std::string> kFields = {
      "model", "stream",   "options", "keep_alive", "format",      "template", "truncate", "prompt",       "system",
      "raw",   "messages", "tools",   "think",      "tool_choice", "images",   "logprobs", "top_logprobs", "suffix"};
  GenerateRequest r;
  r.model = string_field(body, "model");
  need(!r.model.empty(), "model is required");
  r.stream = bool_field(body, "stream", true);
  r.raw_options = body.value("options", json());
  r.options = parse_options(r.raw_options);
  if (body.contains("format")) r.options.sampling.format = validate_format(body["format"]);
  if (body.contains("keep_alive") && !body["keep_alive"].is_null()) r.keep_alive = parse_keep_alive(body["keep_alive"]);
  std::string tmpl = string_field(body, "template");
  if (!tmpl.empty()) validate_go_template(tmpl);  // TemplateError names the line and construct

  r.logprobs = bool_field(body, "logprobs", false);
  r.top_logprobs = top_logprobs_field(body);

  json& m = r.runner_msg;
  m = {{"options", to_json(r.options.sampling)}, {"truncate", bool_field(body, "truncate", true)}};
  if (!tmpl.empty()) m["template"] = tmpl;
  if (r.logprobs) {
    m["logprobs"] = true;
    if (r.top_logprobs > 0) m["top_logprobs"] = r.top_logprobs;
  }
  if (chat) {
    m["mode"] = "chat";
    m["messages"] = chat_messages(body);
    r.empty = m["messages"].empty();
    if (json tools = tools_field(body); !tools.is_null()) m["tools"] = std::move(tools);
    if (body.contains("tool_choice") && !body["tool_choice"].is_null()) m["tool_choice"] = body["tool_choice"];
    if (json think = think_field(body); !think.is_null()) m["think"] = std::move(think);
  } else {
    m["mode"] = "generate";
    m["prompt"] = string_field(body, "prompt");
    m["system"] = string_field(body, "system");
    m["raw"] = bool_field(body, "raw", false);
    // Fill in the middle: the text after the insertion point (the model needs "insert").
    if (std::string suffix = string_field(body, "suffix"); !suffix.empty()) m["suffix"] = std::move(suffix);
    r.empty = m["prompt"].get<std::string>().empty() && !m.contains("suffix");
    if (json think = think_field(body); !think.is_null()) m["think"] = std::move(think);
    need(body.value("images", json()).is_null() || body["images"] == json::array(),
         "images are not supported: ebb has no vision support yet");
  }
  for (const auto& [key, value] : body.items())
    if (!kFields.count(key)) spdlog::debug("ignoring field '{}' of a {} request", key, chat ? "chat" : "generate");
  return r;
}

std::optional<std::string> missing_capability(const GenerateRequest& r, const std::vector<Capability>& caps) {
  auto has_capability = [&](Capability c) { return std::find(caps.begin(), caps.end(), c) != caps.end(); };
  const json& m = r.runner_msg;
  const json think = m.value("think", json());
  if ((think == true || think.is_string()) && !has_capability(Capability::Thinking))
    return capability_error(r.model, Capability::Thinking);
  if (m.contains("suffix") && !has_capability(Capability::Insert) &&
      !(m.contains("template") && GoTemplate(m["template"].get<std::string>()).uses_suffix()))
    return capability_error(r.model, Capability::Insert);
  if (m.value("mode", "") != "chat") return std::nullopt;
  const json tools = m.value("tools", json());
  const bool wants_tools = tools.is_array() && !tools.empty() && m.value("tool_choice", json()) != "none";
  if (wants_tools && !has_capability(Capability::Tools)) return capability_error(r.model, Capability::Tools);
  return std::nullopt;
}

}  // namespace ebb::api
