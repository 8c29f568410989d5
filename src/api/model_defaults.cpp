#include "api/model_defaults.h"

#include <algorithm>

#include "common/go_template.h"

namespace ebb::api {

namespace {

using json = nlohmann::json;

// The model's params under the request's own options, key by key (Ollama's modelOptions).
ParsedOptions merged_options(const json& params, const json& request_options, const ParsedOptions& parsed) {
  json merged = params;
  if (request_options.is_object())
    for (const auto& [key, value] : request_options.items()) merged[key] = value;
  ParsedOptions out = parse_options(merged);
  out.sampling.format = parsed.sampling.format;  // the request's top-level "format"
  out.unknown = parsed.unknown;                  // warn about the request's own keys only
  return out;
}

}  // namespace

void apply_model_defaults(GenerateRequest& r, const supervisor::ModelEntry& entry) {
  if (!entry.stored) return;
  const store::ModelLayers& layers = entry.stored->layers;
  json& m = r.runner_msg;
  if (!layers.params.empty()) {
    r.options = merged_options(layers.params, r.raw_options, r.options);
    m["options"] = to_json(r.options.sampling);
  }
  const bool raw = m.value("raw", false);
  if (m.value("mode", "") == "chat") {
    json& messages = m["messages"];
    if (!messages.empty()) {
      json out = json::array();
      if (messages[0].value("role", "") != "system" && !layers.system.empty())
        out.push_back({{"role", "system"}, {"content", layers.system}});
      for (const json& x : layers.messages) out.push_back(x);
      for (json& x : messages) out.push_back(std::move(x));
      messages = std::move(out);
    }
  } else if (!raw && !m.contains("suffix")) {
    if (m.value("system", "").empty() && !layers.system.empty()) m["system"] = layers.system;
    if (!layers.messages.empty()) m["messages"] = layers.messages;  // before the prompt (runner/prompt.h)
  }
  if (entry.stored->template_renders && !raw && !m.contains("template")) m["template"] = layers.template_text;
}

void apply_model_defaults(EmbedRequest& r, const supervisor::ModelEntry& entry) {
  if (!entry.stored || entry.stored->layers.params.empty()) return;
  r.options = merged_options(entry.stored->layers.params, r.raw_options, r.options);
}

std::vector<Capability> entry_capabilities(const supervisor::ModelEntry& entry, const GgufInfo& info) {
  std::vector<Capability> caps = model_capabilities(info);
  if (!entry.stored || !entry.stored->template_renders) return caps;
  std::erase_if(caps, [](Capability c) { return c == Capability::Tools || c == Capability::Thinking; });
  const bool has_insert = std::find(caps.begin(), caps.end(), Capability::Insert) != caps.end();
  if (!has_insert && GoTemplate(entry.stored->layers.template_text).uses_suffix()) {
    // Ollama's order: completion/embedding, tools, insert, thinking.
    caps.push_back(Capability::Insert);
  }
  return caps;
}

}  // namespace ebb::api
