#include "store/parameters.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

#include "common/options.h"

namespace ebb::store {
namespace {

using json = nlohmann::json;

enum class Kind { Int, Float, Bool, Strings };

// Ollama's api.Options and api.Runner fields with their types.
const std::map<std::string, Kind, std::less<>>& kinds() {
  static const std::map<std::string, Kind, std::less<>> k = {
      {"num_keep", Kind::Int},
      {"seed", Kind::Int},
      {"num_predict", Kind::Int},
      {"top_k", Kind::Int},
      {"top_p", Kind::Float},
      {"min_p", Kind::Float},
      {"typical_p", Kind::Float},
      {"repeat_last_n", Kind::Int},
      {"temperature", Kind::Float},
      {"repeat_penalty", Kind::Float},
      {"presence_penalty", Kind::Float},
      {"frequency_penalty", Kind::Float},
      {"stop", Kind::Strings},
      {"num_ctx", Kind::Int},
      {"num_batch", Kind::Int},
      {"num_gpu", Kind::Int},
      {"main_gpu", Kind::Int},
      {"use_mmap", Kind::Bool},
      {"num_thread", Kind::Int},
      {"draft_num_predict", Kind::Int},
  };
  return k;
}

Kind kind_of(std::string_view name) {
  auto it = kinds().find(name);
  if (it == kinds().end()) throw std::invalid_argument("unknown parameter '" + std::string(name) + "'");
  return it->second;
}

[[noreturn]] void bad(const char* type, std::string_view text, std::string_view name) {
  throw std::invalid_argument("invalid " + std::string(type) + " value '" + std::string(text) + "' for parameter '" +
                              std::string(name) + "'");
}

}  // namespace

bool deprecated_parameter(std::string_view name) {
  for (std::string_view d : {"penalize_newline", "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mlock",
                             "mirostat", "mirostat_tau", "mirostat_eta"})
    if (name == d) return true;
  return false;
}

json parameter_from_text(std::string_view name, std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  switch (kind_of(name)) {
    case Kind::Int: {
      const long long v = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || errno == ERANGE) bad("int", text, name);
      return v;
    }
    case Kind::Float: {
      const float v = std::strtof(s.c_str(), &end);
      if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) bad("float", text, name);
      return v;
    }
    case Kind::Bool:  // Go's strconv.ParseBool
      for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"})
        if (text == t) return true;
      for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"})
        if (text == f) return false;
      bad("bool", text, name);
    case Kind::Strings: return json::array({s});
  }
  bad("", text, name);
}

json normalize_parameters(const json& parameters) {
  json out = json::object();
  if (parameters.is_null()) return out;
  if (!parameters.is_object())
    throw std::invalid_argument(std::string("'parameters' must be an object, got ") + parameters.type_name());
  for (const auto& [key, value] : parameters.items()) {
    if (value.is_null()) continue;
    const std::string where = "parameter '" + key + "' must be ";
    switch (kind_of(key)) {
      case Kind::Int:
        if (!value.is_number() || (value.is_number_float() && std::trunc(value.get<double>()) != value.get<double>()))
          throw std::invalid_argument(where + "an integer, got " + value.dump());
        // A whole float beyond int64 stays as it is, for parse_options below to refuse.
        out[key] = value.is_number_float() && std::fabs(value.get<double>()) < 0x1p63
                       ? json(static_cast<int64_t>(value.get<double>()))
                       : value;
        break;
      case Kind::Float:
        if (!value.is_number()) throw std::invalid_argument(where + "a number, got " + value.dump());
        out[key] = value;
        break;
      case Kind::Bool:
        if (!value.is_boolean()) throw std::invalid_argument(where + "true or false, got " + value.dump());
        out[key] = value;
        break;
      case Kind::Strings: {
        json list = value.is_string() ? json::array({value}) : value;
        if (!list.is_array()) throw std::invalid_argument(where + "a string or an array of strings");
        for (const auto& e : list)
          if (!e.is_string()) throw std::invalid_argument(where + "a string or an array of strings");
        out[key] = list;
        break;
      }
    }
  }
  try {
    parse_options(out);  // the server's own checks (a negative num_ctx, ...), so no model is made it refuses
  } catch (const OptionsError& e) {
    throw std::invalid_argument(e.what());
  }
  return out;
}

}  // namespace ebb::store
