#pragma once
// One parallel sequence of the runner's context: a request being prefilled or decoded, or an
// embed request (then `embed` is set and the generation fields are unused).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/options.h"
#include "common/token_prefix.h"
#include "common/text_stream.h"
#include "engine/sampler.h"
#include "runner/embed_job.h"

namespace ebb::runner {

using Clock = std::chrono::steady_clock;
using Token = int32_t;

struct Slot {
  int seq = 0;                  // llama.cpp sequence id
  bool active = false;
  uint64_t request_id = 0;
  std::vector<Token> cache;     // tokens whose KV is in this sequence
  std::vector<Token> prompt;    // the full prompt of the active request
  size_t prefill_pos = 0;       // next prompt index to decode
  std::optional<Token> next;    // sampled, not yet decoded
  engine::SamplerPtr sampler;
  SamplingOptions options;
  std::optional<TextStream> text;
  int32_t generated = 0;
  int32_t prompt_evaluated = 0;
  int32_t restored_tokens = 0;  // prompt tokens taken from a restored snapshot
  int64_t restore_ns = 0;       // time spent restoring that snapshot
  int32_t shared_tokens = 0;    // prompt tokens copied from another slot's sequence
  Clock::time_point started, prefill_done;
  int batch_index = -1;         // logits row in the current batch, -1 if none
  std::optional<EmbedJob> embed;

  bool prefilling() const { return active && prefill_pos < prompt.size(); }
};

}  // namespace ebb::runner
