#pragma once
// Log-probabilities of one output row, from its raw logits (a log-softmax over the whole
// vocabulary, before any sampler stage: llama-server's default, post_sampling_probs=false).
// Only computed for requests that ask for logprobs; the top-k search is a k-sized heap over the
// row, no sort of the vocabulary.
#include <cstdint>
#include <vector>

namespace ebb::engine {

struct TokenProb {
  int32_t token = 0;
  float logprob = 0;
};

struct RowLogprobs {
  float chosen = 0;            // the sampled token's
  std::vector<TokenProb> top;  // the top_k most likely, most likely first (ties: lower id first)
};

// A token the model rules out (a logit of -inf) gets this instead of -inf, as OpenAI reports it,
// so that it stays a JSON number.
inline constexpr float kMinLogprob = -9999.0f;

// `logits`: n_vocab floats. `top_k` is capped at n_vocab; 0 gives no top list.
RowLogprobs row_logprobs(const float* logits, int32_t n_vocab, int32_t chosen, int top_k);

}  // namespace ebb::engine
