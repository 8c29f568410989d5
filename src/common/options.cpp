#include "common/options.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>

namespace ebb {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxThreads = 512;  // ggml.h GGML_MAX_N_THREADS

std::string type_name(const json& v) { return v.type_name(); }

void need_number(const std::string& key, const json& v) {
  if (!v.is_number()) throw OptionsError("option '" + key + "' must be a number, got " + type_name(v));
}

// The option's integer value; a fraction, or a number beyond int64, is an OptionsError.
int64_t integer_value(const std::string& key, const json& v) {
  need_number(key, v);
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw OptionsError("option '" + key + "' is too large: " + v.dump());
    return v.get<int64_t>();
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  const double d = v.get<double>();
  if (d != std::trunc(d)) throw OptionsError("option '" + key + "' must be an integer, got " + v.dump());
  // 2^63 is the first double beyond int64; casting it (or more) would be undefined.
  if (d >= 0x1p63 || d < -0x1p63) throw OptionsError("option '" + key + "' is too large: " + v.dump());
  return static_cast<int64_t>(d);
}

// An integer option within [lo, hi] (the field's type by default); outside it is an OptionsError
// naming the range, so that a value the field cannot hold never wraps around.
template <class T>
std::function<void(const json&)> int_setter(const std::string& key, T& field,
                                            int64_t lo = std::numeric_limits<T>::min(),
                                            int64_t hi = std::numeric_limits<T>::max()) {
  return [key, &field, lo, hi](const json& v) {
    const int64_t n = integer_value(key, v);
    if (n < lo || n > hi)
      throw OptionsError("option '" + key + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                         ", got " + v.dump());
    field = static_cast<T>(n);
  };
}

// num_predict: Ollama takes any count, a negative one meaning no limit; more tokens than int32
// never fit a context, so a larger count is as good as none.
std::function<void(const json&)> token_count_setter(const std::string& key, int32_t& field) {
  return [key, &field](const json& v) {
    need_number(key, v);
    const double n = v.get<double>();  // exact for every count that is not clamped
    if (n != std::trunc(n)) throw OptionsError("option '" + key + "' must be an integer, got " + v.dump());
    constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
    field = n < 0 ? -1 : n >= kMax ? kMax : static_cast<int32_t>(n);
  };
}

std::function<void(const json&)> float_setter(const std::string& key, float& field) {
  return [key, &field](const json& v) {
    need_number(key, v);
    field = v.get<float>();
  };
}

}  // namespace

ParsedOptions parse_options(const json& options) {
  ParsedOptions out;
  if (options.is_null()) return out;
  if (!options.is_object()) throw OptionsError("'options' must be an object, got " + type_name(options));
  auto& s = out.sampling;
  auto& c = out.context;
  const std::map<std::string, std::function<void(const json&)>> setters = {
      {"num_predict", token_count_setter("num_predict", s.num_predict)},
      {"temperature", float_setter("temperature", s.temperature)},
      {"top_k", int_setter("top_k", s.top_k)},
      {"top_p", float_setter("top_p", s.top_p)},
      {"min_p", float_setter("min_p", s.min_p)},
      {"typical_p", float_setter("typical_p", s.typical_p)},
      {"repeat_penalty", float_setter("repeat_penalty", s.repeat_penalty)},
      {"repeat_last_n", int_setter("repeat_last_n", s.repeat_last_n)},
      {"presence_penalty", float_setter("presence_penalty", s.presence_penalty)},
      {"frequency_penalty", float_setter("frequency_penalty", s.frequency_penalty)},
      {"seed", int_setter("seed", s.seed)},
      {"num_keep", int_setter("num_keep", s.num_keep)},
      {"num_ctx", int_setter("num_ctx", c.num_ctx, 0)},  // 0: the model's default
      {"num_batch", int_setter("num_batch", c.num_batch, 1)},
      // 0 or less: every core. More than ggml's GGML_MAX_N_THREADS would abort the runner.
      {"num_thread", int_setter("num_thread", c.num_thread, std::numeric_limits<int32_t>::min(), kMaxThreads)},
      {"num_gpu", int_setter("num_gpu", c.num_gpu)},
      {"grammar",
       [&s](const json& v) {
         if (!v.is_string()) throw OptionsError("option 'grammar' must be a string (GBNF), got " + type_name(v));
         s.grammar = v.get<std::string>();
       }},
      {"stop",
       [&s](const json& v) {
         if (v.is_string()) {
           s.stop = {v.get<std::string>()};
           return;
         }
         if (!v.is_array())
           throw OptionsError("option 'stop' must be a string or an array of strings, got " + type_name(v));
         s.stop.clear();
         for (const auto& e : v) {
           if (!e.is_string()) throw OptionsError("option 'stop' must contain only strings");
           if (!e.get<std::string>().empty()) s.stop.push_back(e.get<std::string>());
         }
       }},
  };
  for (const auto& [key, value] : options.items()) {
    auto it = setters.find(key);
    if (it == setters.end()) {
      out.unknown.push_back(key);
      continue;
    }
    if (value.is_null()) continue;
    it->second(value);
  }
  return out;
}

json to_json(const SamplingOptions& s) {
  return {{"num_predict", s.num_predict},
          {"temperature", s.temperature},
          {"top_k", s.top_k},
          {"top_p", s.top_p},
          {"min_p", s.min_p},
          {"typical_p", s.typical_p},
          {"repeat_penalty", s.repeat_penalty},
          {"repeat_last_n", s.repeat_last_n},
          {"presence_penalty", s.presence_penalty},
          {"frequency_penalty", s.frequency_penalty},
          {"seed", s.seed},
          {"num_keep", s.num_keep},
          {"stop", s.stop},
          {"grammar", s.grammar},
          {"format", s.format}};
}

SamplingOptions sampling_from_json(const json& j) {
  SamplingOptions s = parse_options(j).sampling;
  if (j.is_object() && j.contains("format")) s.format = validate_format(j["format"]);
  return s;
}

json validate_format(const json& format) {
  if (format.is_null() || format.is_object()) return format;
  if (format.is_string()) {
    const std::string& f = format.get_ref<const std::string&>();
    if (f.empty()) return nullptr;
    if (f == "json") return format;
    throw OptionsError("invalid format '" + f + "': use \"json\" or a JSON schema object");
  }
  throw OptionsError(std::string("invalid format: must be \"json\" or a JSON schema object, got ") +
                     format.type_name());
}

}  // namespace ebb
