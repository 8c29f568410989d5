#pragma once
// The runner's control messages and reports as the supervisor sees them (docs/protocol.md),
// parsed once where they cross the socket, so the rest of the supervisor sees typed fields.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ebb::supervisor {

// The `load` message's fields (without "type" and "id"); also the `--measure` dry run's params.
struct LoadRequest {
  std::string path;
  uint32_t num_ctx = 0;  // per slot
  uint32_t num_parallel = 1;
  uint32_t num_batch = 512;
  uint32_t num_thread = 0;
  int32_t num_gpu = -1;
  std::string kv_cache_type;       // empty: not chosen yet
  std::optional<bool> flash_attn;  // unset: llama.cpp's auto (sent as null)
  bool prompt_cache = false;       // sent only when set, so a dry run's params stay as they were

  nlohmann::json to_json() const;
  static LoadRequest from_json(const nlohmann::json& j);
  bool operator==(const LoadRequest&) const = default;
};

// `ready`: the runner loaded a model or re-created its context.
struct ReadyReport {
  uint32_t num_ctx = 0;
  uint32_t num_parallel = 0;
  int64_t load_ns = 0;        // the whole step
  int64_t model_load_ns = 0;  // the weights (0 after create_context)
  int64_t context_ns = 0;
  uint64_t prefetched_bytes = 0;
  nlohmann::json memory = nlohmann::json::object();  // the memory breakdown; device_share() reads it

  static ReadyReport from_json(const nlohmann::json& j);
};

// `calibrated`: how much a load and a decode grew the runner's code pages, or why not.
struct CalibrationReport {
  std::optional<uint64_t> code_bytes;
  std::string error;

  static CalibrationReport from_json(const nlohmann::json& j);
};

// `hello`: an idle runner's own measurement before any load.
struct HelloReport {
  uint64_t rss = 0;

  static HelloReport from_json(const nlohmann::json& j);
};

}  // namespace ebb::supervisor
