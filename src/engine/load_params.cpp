#include "engine/load_params.h"

#include <nlohmann/json.hpp>

namespace ebb::engine {

LoadParams load_params_from_json(const nlohmann::json& m) {
  LoadParams p;
  p.path = m.at("path").get<std::string>();
  p.num_ctx = m.value("num_ctx", p.num_ctx);
  p.num_parallel = m.value("num_parallel", p.num_parallel);
  p.num_batch = m.value("num_batch", p.num_batch);
  p.num_thread = m.value("num_thread", p.num_thread);
  p.num_gpu = m.value("num_gpu", p.num_gpu);
  p.kv_cache_type = m.value("kv_cache_type", p.kv_cache_type);
  if (auto it = m.find("flash_attn"); it != m.end() && it->is_boolean()) p.flash_attn = it->get<bool>();
  p.embeddings = m.value("embeddings", p.embeddings);
  return p;
}

}  // namespace ebb::engine
