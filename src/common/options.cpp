#include "common/options.h"

#include <functional>
#include <map>

namespace ebb {
namespace {

using json = nlohmann::json;

std::string type_name(const json& v) { return v.type_name(); }

void need_number(const std::string& key, const json& v) {
  if (!v.is_number()) throw OptionsError("option '" + key + "' must be a number, got " + type_name(v));
}

void need_integer(const std::string& key, const json& v) {
  need_number(key, v);
  if (v.is_number_float() && v.get<double>() != static_cast<double>(static_cast<int64_t>(v.get<double>())))
    throw OptionsError("option '" + key + "' must be an integer, got " + v.dump());
}

template <class T>
std::function<void(const json&)> int_setter(const std::string& key, T& field) {
  return [key, &field](const json& v) {
    need_integer(key, v);
    field = static_cast<T>(v.get<double>());
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
      {"num_predict", int_setter("num_predict", s.num_predict)},
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
      {"num_ctx", int_setter("num_ctx", c.num_ctx)},
      {"num_batch", int_setter("num_batch", c.num_batch)},
      {"num_thread", int_setter("num_thread", c.num_thread)},
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
  if (c.num_ctx < 0) throw OptionsError("option 'num_ctx' must not be negative");
  if (c.num_batch < 0) throw OptionsError("option 'num_batch' must not be negative");
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
