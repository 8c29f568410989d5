#pragma once
// Ollama's generation options ("options" object), validated in the supervisor and
// forwarded to the runner as JSON. Defaults follow Ollama.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb {

class OptionsError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct SamplingOptions {
  int32_t num_predict = -1;  // -1: until the context is full or an end-of-generation token
  float temperature = 0.8f;
  int32_t top_k = 40;
  float top_p = 0.9f;
  float min_p = 0.0f;
  float typical_p = 1.0f;
  float repeat_penalty = 1.0f;  // Ollama's default since March 2026 (it was 1.1)
  int32_t repeat_last_n = 64;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int64_t seed = -1;  // -1: random
  int32_t num_keep = 4;
  std::vector<std::string> stop;
  // Ollama's top-level "format": null (free text), "json" (any JSON object) or a JSON schema
  // object. The runner turns it into a grammar. See validate_format.
  nlohmann::json format;
  // A GBNF grammar (llama.cpp's, as llama-server's "grammar" field): when set it is the only
  // constraint, in place of "format" and of a tool-call grammar (the output is still parsed).
  std::string grammar;
};

// Context-shaping options: they decide which runner instance can serve a request.
struct ContextOptions {
  int32_t num_ctx = 0;     // 0: model default
  int32_t num_batch = 0;   // 0: default 512
  int32_t num_thread = 0;  // 0: all cores
  int32_t num_gpu = -1;    // -1: all layers that fit
};

struct ParsedOptions {
  SamplingOptions sampling;
  ContextOptions context;
  std::vector<std::string> unknown;  // ignored keys, for a logged warning
};

// Parses an Ollama "options" object. Throws OptionsError on a wrong type
// ("option 'temperature' must be a number, got string").
ParsedOptions parse_options(const nlohmann::json& options);

// Checks a request's "format": null, "" (none), "json" or a JSON-schema object. Returns the
// normalized value ("" becomes null). Throws OptionsError otherwise. Whether a schema object
// converts to a grammar is only known in the runner.
nlohmann::json validate_format(const nlohmann::json& format);

// Sampling options for the runner, "format" included.
nlohmann::json to_json(const SamplingOptions& s);
SamplingOptions sampling_from_json(const nlohmann::json& j);

}  // namespace ebb
