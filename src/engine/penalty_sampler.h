#pragma once
// Repeat, frequency and presence penalties over the last `last_n` sampled tokens: the same
// arithmetic as llama.cpp's penalties sampler, at a cost that follows the window, not the
// vocabulary. llama.cpp looks every vocabulary entry up in a hash map on every token (32k lookups,
// about 0.1 ms a token on our VM, 3% of a 120M model's decode); Ollama's default repeat_penalty
// of 1.1 makes every request pay it. Here only the window's distinct tokens are touched, found by
// index while the candidates are still the full vocabulary in id order (as llama_sampler_sample
// builds them); any other candidate list is scanned as llama.cpp does.
#include <cstdint>

struct llama_sampler;

namespace ebb::engine {

// last_n > 0. The caller leaves the sampler out when every penalty is neutral.
llama_sampler* make_penalty_sampler(int32_t n_vocab, int32_t last_n, float repeat, float frequency, float presence);

}  // namespace ebb::engine
