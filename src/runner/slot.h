#pragma once
// One parallel sequence of the runner's context: a request being prefilled or decoded, or an
// embed request (then `embed` is set and the generation fields are unused).
//
// `cache()` mirrors the KV the sequence holds, token for token. It changes only together with
// the sequence (clear / truncate / copy_from / restore) or when a token goes into the batch at
// position cache().size() (push). Everything else is the request's, and reset() ends it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/options.h"
#include "common/text_stream.h"
#include "common/token_prefix.h"
#include "engine/sampler.h"
#include "runner/chat_output.h"
#include "runner/embed_job.h"
#include "runner/logprob_queue.h"
#include "runner/timing.h"

namespace ebb::engine {
class Engine;
}

namespace ebb::runner {

using Token = int32_t;

class Slot {
 public:
  explicit Slot(int seq) : seq_(seq) {}

  int seq() const { return seq_; }  // llama.cpp sequence id

  // The KV mirror.
  const std::vector<Token>& cache() const { return cache_; }
  void clear(engine::Engine& e);
  void truncate(engine::Engine& e, size_t n);                    // keeps the first n positions
  void copy_from(engine::Engine& e, const Slot& src, size_t n);  // src's first n positions
  // Replaces the sequence with a snapshot holding `tokens`. False (the slot left empty) when
  // llama.cpp rejects the state or it holds another number of positions.
  bool restore(engine::Engine& e, std::string_view state, std::vector<Token>&& tokens);
  void push(Token t) { cache_.push_back(t); }  // t goes into the batch at position cache().size()
  void forget_kv() { cache_.clear(); }         // the context was freed: the sequence is gone

  // The request: every field below is reset() at its end.
  bool active = false;
  uint64_t request_id = 0;
  std::vector<Token> prompt;  // the full prompt of the active request
  size_t prefill_pos = 0;     // next prompt index to decode
  std::optional<Token> next;  // sampled, not yet decoded
  engine::SamplerPtr sampler;
  SamplingOptions options;
  std::optional<TextStream> text;
  std::optional<ChatOutput> parsed;      // tools or reasoning: the text goes out as message deltas
  std::optional<LogprobQueue> logprobs;  // the request asked for logprobs
  int32_t generated = 0;
  int32_t prompt_evaluated = 0;
  int32_t restored_tokens = 0;  // prompt tokens taken from a restored snapshot
  int64_t restore_ns = 0;       // time spent restoring that snapshot
  int32_t shared_tokens = 0;    // prompt tokens copied from another slot's sequence
  Clock::time_point started, prefill_done;
  int batch_index = -1;  // logits row in the current batch, -1 if none
  std::optional<EmbedJob> embed;

  bool prefilling() const { return active && prefill_pos < prompt.size(); }
  // No request: the slot is free. The KV mirror stays (the next request may reuse its prefix).
  void reset();

 private:
  int seq_;
  std::vector<Token> cache_;  // tokens whose KV is in this sequence
};

}  // namespace ebb::runner
