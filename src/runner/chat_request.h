#pragma once
// The chat fields that need llama-common's chat formats: "tools", "tool_choice", "think",
// "reasoning_effort" and the messages' tool calls and reasoning. A chat request that uses any of
// them, or goes to a model whose template can reason, is rendered by engine::ChatTemplate::render
// (engine/chat_format.h) and its output parsed; every other request keeps the plain path
// (runner/prompt.h).
#include <optional>

#include <nlohmann/json.hpp>

#include "engine/chat_format.h"

namespace ebb::engine {
class Engine;
}

namespace ebb::runner {

// nullopt: the plain path renders `msg`. Throws RequestError for what the model cannot do
// (tools without tool support, thinking without the capability) or fields of the wrong type.
std::optional<engine::ChatRequest> chat_request_of(const engine::Engine& engine, const nlohmann::json& msg);

}  // namespace ebb::runner
