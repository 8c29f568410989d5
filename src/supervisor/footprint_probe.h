#pragma once
// Exact footprints from a llama.cpp dry run (no_alloc) in a short-lived `ebb runner --measure`
// child, cached per (file identity, num_ctx, num_parallel, KV type, GPU layers).
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "memory/footprint.h"

namespace ebb::supervisor {

class FootprintProbe {
 public:
  explicit FootprintProbe(std::string exe) : exe_(std::move(exe)) {}

  // `load` holds the same fields as the runner's load message. Throws std::runtime_error.
  // The returned footprint has baseline 0; the caller adds the per-runner baseline.
  memory::Footprint measure(const nlohmann::json& load, const std::string& identity);

 private:
  std::string exe_;
  std::mutex mu_;
  std::map<std::string, memory::Footprint> cache_;
};

}  // namespace ebb::supervisor
