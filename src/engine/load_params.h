#pragma once
// What a runner loads: the fields of the protocol's "load" message (and of `ebb runner --measure`).
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace ebb::engine {

struct LoadParams {
  std::string path;
  uint32_t num_ctx = 4096;    // per slot (sequence)
  uint32_t num_parallel = 1;  // slots; context holds num_ctx * num_parallel
  uint32_t num_batch = 512;
  int32_t num_thread = 0;  // 0: hardware threads
  int32_t num_gpu = -1;    // layers to offload; -1: all
  std::string kv_cache_type = "f16";
  std::optional<bool> flash_attn;  // unset: llama.cpp decides (auto; on for CPU)
  bool embeddings = false;         // output per-token embeddings from the start (the runner toggles it per decode)
  bool dry_run = false;            // no_alloc: measure footprints only
};

// Reads a "load" message; "path" is required, the rest default as above.
// Throws nlohmann::json::exception on a missing path or a wrong type.
LoadParams load_params_from_json(const nlohmann::json& m);

}  // namespace ebb::engine
