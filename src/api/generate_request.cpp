#include "api/generate_request.h"

#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "common/go_template.h"

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

json chat_messages(const json& body) {
  json msgs = json::array();
  if (!body.contains("messages") || body["messages"].is_null()) return msgs;  // loads the model, as Ollama
  need(body["messages"].is_array(), "'messages' must be an array");
  for (const auto& x : body["messages"]) {
    need(x.is_object() && x.value("role", json()).is_string() &&
             (!x.contains("content") || x["content"].is_string() || x["content"].is_null()),
         "each message needs a string 'role' and 'content'");
    msgs.push_back({{"role", x["role"]}, {"content", string_field(x, "content")}});
  }
  return msgs;
}

}  // namespace

GenerateRequest parse_generate_request(const json& body, bool chat) {
  static const std::set<std::string> kFields = {"model",    "stream", "options", "keep_alive", "format",  "template",
                                                "truncate", "prompt", "system",  "raw",        "messages"};
  GenerateRequest r;
  r.model = string_field(body, "model");
  need(!r.model.empty(), "model is required");
  r.stream = bool_field(body, "stream", true);
  r.options = parse_options(body.value("options", json()));
  if (body.contains("format")) r.options.sampling.format = validate_format(body["format"]);
  if (body.contains("keep_alive") && !body["keep_alive"].is_null()) r.keep_alive = parse_keep_alive(body["keep_alive"]);
  std::string tmpl = string_field(body, "template");
  if (!tmpl.empty()) validate_go_template(tmpl);  // TemplateError names the line and construct

  json& m = r.runner_msg;
  m = {{"options", to_json(r.options.sampling)}, {"truncate", bool_field(body, "truncate", true)}};
  if (!tmpl.empty()) m["template"] = tmpl;
  if (chat) {
    m["mode"] = "chat";
    m["messages"] = chat_messages(body);
    r.empty = m["messages"].empty();
  } else {
    m["mode"] = "generate";
    m["prompt"] = string_field(body, "prompt");
    m["system"] = string_field(body, "system");
    m["raw"] = bool_field(body, "raw", false);
    r.empty = m["prompt"].get<std::string>().empty();
  }
  for (const auto& [key, value] : body.items())
    if (!kFields.count(key)) spdlog::debug("ignoring field '{}' of a {} request", key, chat ? "chat" : "generate");
  return r;
}

}  // namespace ebb::api
