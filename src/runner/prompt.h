#pragma once
// Turns a generate message into prompt text: raw, a request "template" (Go-template subset,
// rendered as Ollama does), or the model's GGUF chat template.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/go_template.h"

namespace ebb::engine {
class Engine;
}

namespace ebb::runner {

// Throws TemplateError for a template that does not parse.
std::string render_prompt(const engine::Engine& engine, const nlohmann::json& msg);

// Ollama's Template.Execute: templates that read .Messages render once with the whole
// conversation; others render once per turn (System/Prompt/Response), and the last turn stops
// right after {{ .Response }}. Consecutive messages of one role are joined with a blank line.
std::string render_with_template(const GoTemplate& tmpl, const std::vector<TemplateMessage>& messages);

}  // namespace ebb::runner
