#pragma once
// One decode step over the context's sequences. The runner adds (token, position, sequence,
// wants output) entries in the order it wants them decoded, runs one llama_decode over them, and
// reads each output row back: a token sampled with a slot's sampler, logits, or an embedding row.
// Owns the llama_batch. The context it decodes in is the Engine's current one, so a Batcher
// outlives free_context / create_context.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/token_logprob.h"
#include "engine/engine.h"
#include "engine/sampler.h"

struct llama_batch;

namespace ebb::engine {

class Batcher {
 public:
  // capacity: the most tokens one decode takes (num_batch). Each token belongs to one sequence.
  Batcher(Engine& engine, uint32_t capacity);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  void clear() { n_tokens_ = 0; }
  int32_t size() const { return n_tokens_; }
  bool empty() const { return n_tokens_ == 0; }
  uint32_t capacity() const { return capacity_; }
  // Adds one token of `seq` at position `pos`; returns its row in the batch. Rows with
  // wants_output get logits (or embeddings). Throws std::logic_error when the batch is full.
  int32_t add(Token token, size_t pos, int seq, bool wants_output);

  // One llama_decode over the batch: 0, or llama.cpp's error code (-1 without a context).
  int decode();
  // The same with per-token embedding output switched on for this decode only.
  int decode_embeddings();

  // After a decode: row `row`'s logits (n_vocab floats; -1: the last output row), its embedding
  // (n_embd_out floats, after decode_embeddings), or a token sampled from it with `sampler`
  // (which also accepts the token).
  const float* logits(int32_t row) const;
  const float* embedding(int32_t row) const;
  Token sample(const SamplerPtr& sampler, int32_t row);
  // Row `row`'s log-probability of `chosen` and its `top_k` most likely tokens, each with its
  // piece (engine/logprobs.h). Only for requests that ask: it reads the whole row.
  Logprob logprobs(int32_t row, Token chosen, int top_k) const;

 private:
  Engine& engine_;
  std::unique_ptr<llama_batch> batch_;
  uint32_t capacity_;
  int32_t n_tokens_ = 0;
};

}  // namespace ebb::engine
