#pragma once
// Footprint: the device bytes of one loaded model instance, as the dry run measured them plus the
// runner's measured baseline (an idle process; the CUDA context on GPU) and, on host RAM, the
// model's own heap (vocabulary, metadata) as the dry run measured it.
//
//   Footprint fp{.device = "CUDA0", .weights = w, .kv = k, .compute = c, .baseline = b,
//                .n_ctx = 4096, .n_parallel = 4};
//   fp.total()       ready: everything
//   fp.without_kv()  warm: the llama_context is gone (KV and compute buffers), weights stay
//
// bytes_text(n) formats sizes for messages: "512 B", "300 MiB", "1.2 GiB".
#include <cstdint>
#include <string>

namespace ebb::memory {

struct Footprint {
  std::string device;     // "CPU", "CUDA0": one device per instance for now
  uint64_t weights = 0;   // model buffers, every buffer type (CPU_REPACK included)
  uint64_t kv = 0;        // KV cache: n_ctx x n_parallel
  uint64_t compute = 0;   // compute buffers of the context
  uint64_t baseline = 0;  // per-runner overhead, measured
  uint64_t heap = 0;      // host structures of this model and context (vocabulary, metadata), measured
                          // in the dry run; only where the device is host RAM, else 0
  uint32_t n_ctx = 0;     // per slot
  uint32_t n_parallel = 1;

  uint64_t total() const { return weights + kv + compute + baseline + heap; }
  uint64_t without_kv() const { return weights + baseline + heap; }  // heap: the context's part is small
  bool operator==(const Footprint&) const = default;
};

// Binary units, one decimal below 100 of a unit: "512 B", "1.2 GiB", "300 MiB", "2.0 GiB".
std::string bytes_text(uint64_t bytes);

}  // namespace ebb::memory
