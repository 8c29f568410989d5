#pragma once
// Builds a llama.cpp sampler chain from Ollama options.
#include <memory>

#include "common/options.h"

struct llama_sampler;
struct llama_vocab;

namespace ebb::engine {

struct SamplerDeleter {
  void operator()(llama_sampler* s) const;
};
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

// Order: penalties, then (temperature <= 0) greedy, else top_k, typical_p, top_p, min_p, temperature, dist.
SamplerPtr make_sampler(const SamplingOptions& o, const llama_vocab* vocab);

}  // namespace ebb::engine
