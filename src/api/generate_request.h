#pragma once
// Reads an /api/generate or /api/chat body into what the supervisor needs and the runner's
// "generate" message. Every wrong type is a std::invalid_argument (400) with a message that
// names the field.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include <vector>

#include "common/capabilities.h"
#include "common/gguf_reader.h"
#include "common/options.h"
#include "common/units.h"

namespace ebb::api {

struct GenerateRequest {
  std::string model;
  bool stream = true;
  ParsedOptions options;       // options.sampling.format holds the top-level "format"
  nlohmann::json raw_options;  // "options" as given: a stored model's params go under it
  std::optional<KeepAlive> keep_alive;
  nlohmann::json runner_msg;  // mode, prompt/system/raw or messages, template, truncate, options
  bool empty = false;         // no prompt (or no messages): only load or unload the model
  bool logprobs = false;      // each generated token's log-probability (runner_msg carries it too)
  int top_logprobs = 0;       // with logprobs: the most likely tokens at each position (0..20)
};

// Fields: model, stream, options, keep_alive, format ("json" or a schema object), template
// (Go-template subset, checked here), truncate (default true); generate: prompt, system, raw,
// suffix (fill in the middle; needs the "insert" capability, ignored with raw, as Ollama);
// chat: messages [{role, content, thinking, tool_calls, tool_name, tool_call_id}], tools,
// tool_choice, think (the runner renders them: runner/chat_request.h); logprobs (a boolean) and
// top_logprobs (an integer 0..20, used only with logprobs), as Ollama. Images are a 400 (no
// vision support). Other fields (context, …) are ignored.
GenerateRequest parse_generate_request(const nlohmann::json& body, bool chat);

// What the request needs that the model (its GGUF header, `info`) cannot do, as Ollama's 400
// message (common/capabilities.h): thinking asked for ("think": true or a level), then, in a
// chat, tools it may call ("tools" not empty, "tool_choice" not "none"). nullopt when nothing is missing. The
// API checks this before the model loads; the runner's own check stays for what the header
// cannot tell.
std::optional<std::string> missing_capability(const GenerateRequest& r, const std::vector<Capability>& caps);

}  // namespace ebb::api
