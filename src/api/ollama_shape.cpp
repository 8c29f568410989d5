#include "api/ollama_shape.h"

#include <chrono>

#include "common/time_format.h"

namespace ebb::api {

using json = nlohmann::json;

json OllamaShape::object(const std::string& text) const {
  json j = {{"model", model_}, {"created_at", format_rfc3339(std::chrono::system_clock::now())}};
  if (chat_)
    j["message"] = {{"role", "assistant"}, {"content", text}};
  else
    j["response"] = text;
  j["done"] = false;
  return j;
}

json OllamaShape::last(const std::string& text, const json& done, Timing timing) const {
  json j = object(text);
  j["done"] = true;
  j["done_reason"] = done.value("done_reason", "stop");
  j["total_duration"] = timing.total_ns;
  j["load_duration"] = timing.load_ns;
  j["prompt_eval_count"] = done.value("prompt_eval_count", 0);
  j["prompt_eval_duration"] = done.value("prompt_eval_duration", int64_t{0});
  j["eval_count"] = done.value("eval_count", 0);
  j["eval_duration"] = done.value("eval_duration", int64_t{0});
  return j;
}

}  // namespace ebb::api
