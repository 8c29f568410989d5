#include "engine/batcher.h"

#include <stdexcept>

#include "engine/logprobs.h"
#include "llama.h"

namespace ebb::engine {

Batcher::Batcher(Engine& engine, uint32_t capacity)
    : engine_(engine),
      batch_(std::make_unique<llama_batch>(llama_batch_init(static_cast<int32_t>(capacity), 0, 1))),
      capacity_(capacity) {}

Batcher::~Batcher() { llama_batch_free(*batch_); }

int32_t Batcher::add(Token token, size_t pos, int seq, bool wants_output) {
  if (static_cast<uint32_t>(n_tokens_) >= capacity_) throw std::logic_error("Batcher::add: the batch is full");
  const int32_t i = n_tokens_++;
  llama_batch& b = *batch_;
  b.token[i] = token;
  b.pos[i] = static_cast<llama_pos>(pos);
  b.n_seq_id[i] = 1;
  b.seq_id[i][0] = seq;
  b.logits[i] = wants_output;
  return i;
}

int Batcher::decode() {
  if (!engine_.ctx_) return -1;
  batch_->n_tokens = n_tokens_;
  return llama_decode(engine_.ctx_, *batch_);
}

int Batcher::decode_embeddings() {
  if (!engine_.ctx_) return -1;
  llama_set_embeddings(engine_.ctx_, true);
  const int rc = decode();
  llama_set_embeddings(engine_.ctx_, false);
  return rc;
}

const float* Batcher::logits(int32_t row) const { return llama_get_logits_ith(engine_.ctx_, row); }

const float* Batcher::embedding(int32_t row) const { return llama_get_embeddings_ith(engine_.ctx_, row); }

Token Batcher::sample(const SamplerPtr& sampler, int32_t row) {
  return llama_sampler_sample(sampler.get(), engine_.ctx_, row);
}

Logprob Batcher::logprobs(int32_t row, Token chosen, int top_k) const {
  const RowLogprobs lp = row_logprobs(logits(row), engine_.n_vocab(), chosen, top_k);
  Logprob out{{engine_.piece(chosen), shortest_double(lp.chosen)}, {}};
  out.top.reserve(lp.top.size());
  for (const auto& t : lp.top) out.top.push_back({engine_.piece(t.token), shortest_double(t.logprob)});
  return out;
}

}  // namespace ebb::engine
