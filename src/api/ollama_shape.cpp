#include "api/ollama_shape.h"

#include <chrono>

#include "api/logprob_json.h"
#include "common/time_format.h"

namespace ebb::api {

using json = nlohmann::json;

json OllamaShape::object(const MessageDelta& delta) const {
  json j = {{"model", model_}, {"created_at", format_rfc3339(std::chrono::system_clock::now())}};
  if (chat_) {
    json& m = j["message"] = {{"role", "assistant"}, {"content", delta.content}};
    if (!delta.thinking.empty()) m["thinking"] = delta.thinking;
    if (!delta.tool_calls.empty()) {
      json& calls = m["tool_calls"] = json::array();
      for (json f : delta.tool_calls) {  // {"id"?, "function": {"index", "name", "arguments"}}
        json call = json::object();
        if (f.contains("id")) {
          call["id"] = f["id"];
          f.erase("id");
        }
        call["function"] = std::move(f);
        calls.push_back(std::move(call));
      }
    }
  } else {
    j["response"] = delta.content;
    if (!delta.thinking.empty()) j["thinking"] = delta.thinking;
  }
  if (!delta.logprobs.empty()) j["logprobs"] = ollama_logprobs(delta.logprobs);
  j["done"] = false;
  return j;
}

json OllamaShape::last(const MessageDelta& delta, const json& done, Timing timing) const {
  json j = object(delta);
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
