#pragma once
// Exact footprints from a llama.cpp dry run (no_alloc) in a short-lived `ebb runner --measure`
// child, cached per (file identity, num_ctx, num_parallel, KV type, GPU layers).
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "memory/footprint.h"
#include "supervisor/runner_messages.h"

namespace ebb::supervisor {

// The bytes of a memory report ({"weights","kv","compute","buffers":[...]}) that live on the
// device: all of them on the CPU device (`device_id` empty); on a GPU only the buffers named
// after it ("CUDA0", "CUDA0_Mapped"), not the host-side ones (token embeddings, pinned output).
memory::Footprint device_share(const nlohmann::json& memory, const std::string& device_id);

class FootprintProbe {
 public:
  explicit FootprintProbe(std::string exe, std::string device_id = "")
      : exe_(std::move(exe)), device_id_(std::move(device_id)) {}

  // `load`: what the runner would be loaded with. Throws std::runtime_error.
  // The returned footprint has baseline 0; the caller adds the per-runner baseline.
  memory::Footprint measure(const LoadRequest& load, const std::string& identity);

 private:
  std::string exe_;
  std::string device_id_;  // empty: the CPU device
  std::mutex mu_;
  std::map<std::string, memory::Footprint> cache_;
};

}  // namespace ebb::supervisor
