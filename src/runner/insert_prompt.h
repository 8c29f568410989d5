#pragma once
// Fill in the middle: the prompt of a generate message with a "suffix" (Ollama's "insert").
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"

namespace ebb::runner {

// A request "template" that reads .Suffix renders prompt, suffix and system (as Ollama renders
// its templates for a suffix); else the vocabulary's FIM tokens lay it out as llama-server's
// /infill does: [BOS] <fim_prefix> prompt <fim_suffix> suffix <fim_middle>. A model with neither
// is a RequestError (the API checks the GGUF header first).
std::vector<engine::Token> insert_prompt(const engine::Engine& engine, const nlohmann::json& msg);

}  // namespace ebb::runner
