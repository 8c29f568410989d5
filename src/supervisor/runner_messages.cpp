#include "supervisor/runner_messages.h"

namespace ebb::supervisor {

using json = nlohmann::json;

json LoadRequest::to_json() const {
  json j = {{"path", path},
            {"num_ctx", num_ctx},
            {"num_parallel", num_parallel},
            {"num_batch", num_batch},
            {"num_thread", num_thread},
            {"num_gpu", num_gpu},
            {"kv_cache_type", kv_cache_type},
            {"flash_attn", flash_attn ? json(*flash_attn) : json()}};
  if (prompt_cache) j["prompt_cache"] = true;
  return j;
}

LoadRequest LoadRequest::from_json(const json& j) {
  LoadRequest r;
  r.path = j.value("path", "");
  r.num_ctx = j.value("num_ctx", 0u);
  r.num_parallel = j.value("num_parallel", 1u);
  r.num_batch = j.value("num_batch", 512u);
  r.num_thread = j.value("num_thread", 0u);
  r.num_gpu = j.value("num_gpu", -1);
  r.kv_cache_type = j.value("kv_cache_type", "");
  if (auto it = j.find("flash_attn"); it != j.end() && it->is_boolean()) r.flash_attn = it->get<bool>();
  r.prompt_cache = j.value("prompt_cache", false);
  return r;
}

ReadyReport ReadyReport::from_json(const json& j) {
  ReadyReport r;
  r.num_ctx = j.value("num_ctx", 0u);
  r.num_parallel = j.value("num_parallel", 0u);
  r.load_ns = j.value("load_ns", int64_t{0});
  r.model_load_ns = j.value("model_load_ns", int64_t{0});
  r.context_ns = j.value("context_ns", int64_t{0});
  r.prefetched_bytes = j.value("prefetched_bytes", uint64_t{0});
  r.memory = j.value("memory", json::object());
  return r;
}

CalibrationReport CalibrationReport::from_json(const json& j) {
  CalibrationReport r;
  if (auto it = j.find("code_bytes"); it != j.end() && it->is_number())
    r.code_bytes = it->get<uint64_t>();
  else
    r.error = j.value("error", "no answer");
  return r;
}

HelloReport HelloReport::from_json(const json& j) {
  return {j.value("process", json::object()).value("rss", uint64_t{0})};
}

}  // namespace ebb::supervisor
