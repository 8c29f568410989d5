#pragma once
// Model parameters as a params layer holds them: Ollama's option names with typed JSON values
// (numbers as numbers, use_mmap a bool, stop an array of strings), as Ollama's FormatParams
// makes them from Modelfile text. A params layer with a string where a number belongs would
// fail later, at load time, far from the Modelfile line that caused it.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ebb::store {

// One PARAMETER line's value, typed. Throws std::invalid_argument for an unknown name or a value
// of the wrong type ("invalid float value 'abc' for parameter 'temperature'").
nlohmann::json parameter_from_text(std::string_view name, std::string_view text);

// Modelfile parameters Ollama still accepts and ignores (with a warning).
bool deprecated_parameter(std::string_view name);

// A create request's "parameters" object, checked and normalized: every key known, every value
// of its type (an integer-valued number for an integer; "stop" as a string or an array of
// strings, always stored as an array). Throws std::invalid_argument.
nlohmann::json normalize_parameters(const nlohmann::json& parameters);

}  // namespace ebb::store
