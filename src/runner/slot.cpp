#include "runner/slot.h"

#include <spdlog/spdlog.h>

#include "engine/engine.h"

namespace ebb::runner {

void Slot::clear(engine::Engine& e) {
  e.clear_sequence(seq_);
  cache_.clear();
}

void Slot::truncate(engine::Engine& e, size_t n) {
  e.truncate_sequence(seq_, n);
  cache_.resize(n);
}

void Slot::copy_from(engine::Engine& e, const Slot& src, size_t n) {
  e.copy_sequence(src.seq_, seq_, n);
  cache_.assign(src.cache_.begin(), src.cache_.begin() + static_cast<std::ptrdiff_t>(n));
}

bool Slot::restore(engine::Engine& e, std::string_view state, std::vector<Token>&& tokens) {
  cache_.clear();
  if (!e.restore_sequence(seq_, state)) return false;  // the sequence is empty then
  if (const size_t held = e.sequence_length(seq_); held != tokens.size()) {
    spdlog::warn("runner: the snapshot for slot {} holds {} positions for {} tokens", seq_, held, tokens.size());
    e.clear_sequence(seq_);
    return false;
  }
  cache_ = std::move(tokens);
  return true;
}

void Slot::reset() {
  active = false;
  request_id = 0;
  prompt.clear();
  prefill_pos = 0;
  next.reset();
  sampler.reset();
  options = SamplingOptions{};
  text.reset();
  parsed.reset();
  logprobs.reset();
  generated = 0;
  prompt_evaluated = 0;
  restored_tokens = 0;
  restore_ns = 0;
  shared_tokens = 0;
  started = prefill_done = Clock::time_point{};
  batch_index = -1;
  embed.reset();
}

}  // namespace ebb::runner
