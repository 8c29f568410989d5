#include "runner/scheduler.h"

#include <spdlog/spdlog.h>

#include "runner/embeddings.h"
#include "runner/generation.h"
#include "runner/snapshots.h"

namespace ebb::runner {

using protocol::Msg;

Slot* best_free_slot(std::vector<Slot>& slots, const std::vector<Token>& prompt, size_t& best_len) {
  Slot* best = nullptr;
  best_len = 0;
  for (auto& s : slots) {
    if (s.active) continue;
    size_t len = common_prefix(s.cache(), prompt);
    if (!best || len > best_len) best = &s, best_len = len;
  }
  return best;
}

Slot* least_cached_free_slot(std::vector<Slot>& slots) {
  Slot* target = nullptr;
  for (auto& s : slots) {
    if (s.active) continue;
    if (!target || s.cache().size() < target->cache().size()) target = &s;
  }
  return target;
}

Slot* shared_prefix_source(std::vector<Slot>& slots, const std::vector<Token>& prompt, size_t best_len,
                           size_t& shared_len) {
  Slot* src = nullptr;
  shared_len = 0;
  for (auto& s : slots) {
    if (!s.active || s.embed) continue;
    size_t l = common_prefix(s.cache(), prompt);  // cache: tokens whose KV is computed
    if (l > shared_len) src = &s, shared_len = l;
  }
  return src && shared_len >= best_len + kMinSharedPrefix ? src : nullptr;
}

bool worth_saving_before_overwrite(size_t cached, size_t keep) {
  return cached >= keep + kMinReuseGain && keep * 2 < cached;
}

bool worth_asking_for_snapshot(size_t best_len, size_t prompt_len) { return best_len + kMinReuseGain <= prompt_len; }

namespace {

// A prefix shared with a busy slot (one system prompt for many users): the busy slot's sequence
// is copied into a free slot and cut back to the shared prefix, so only the rest is prefilled.
// Across KV streams llama.cpp copies the whole stream buffer at the start of the next decode,
// hence the minimum gain (kMinSharedPrefix).
Slot* share_prefix(Serving& sv, const std::vector<Token>& prompt, size_t best_len) {
  size_t len = 0;
  Slot* src = shared_prefix_source(sv.slots, prompt, best_len, len);
  if (!src) return nullptr;
  Slot* dst = least_cached_free_slot(sv.slots);
  if (!dst) return nullptr;
  save_before_overwrite(sv, *dst, 0);
  dst->copy_from(sv.engine, *src, len);
  spdlog::debug("runner: slot {} takes {} prompt tokens from busy slot {}", dst->seq(), len, src->seq());
  return dst;
}

}  // namespace

void assign_pending(Serving& sv, std::deque<PendingRequest>& pending) {
  for (auto it = pending.begin(); it != pending.end();) {
    PendingRequest& r = *it;
    if (r.parked()) {
      ++it;
      continue;
    }
    try {
      if (!sv.engine.has_context()) sv.engine.create_context();
    } catch (const std::exception& e) {
      sv.out.error(r.id, e.what());
      it = pending.erase(it);
      continue;
    }
    if (r.kind == PendingRequest::Kind::Embed) {
      Slot* s = least_cached_free_slot(sv.slots);  // embeddings keep no KV
      if (!s) return;
      start_embed(sv, *s, r);
      it = pending.erase(it);
      continue;
    }
    size_t best_len = 0;
    Slot* best = best_free_slot(sv.slots, *r.prompt, best_len);
    if (!best) return;  // all busy: wait for a slot
    if (Slot* shared = share_prefix(sv, *r.prompt, best_len)) {
      start_generation(sv, *shared, r);
      shared->shared_tokens = static_cast<int32_t>(shared->prefill_pos);
      it = pending.erase(it);
      continue;
    }
    if (r.snapshots && r.snapshot == PendingRequest::Snapshot::NotAsked &&
        worth_asking_for_snapshot(best_len, r.prompt->size())) {
      spdlog::debug("runner: request {} asks for a snapshot ({} prompt tokens)", r.id, r.prompt->size());
      sv.out.send({{"type", type_name(Msg::WantSnapshot)}, {"id", r.id}, {"tokens", *r.prompt}, {"have", best_len}});
      r.snapshot = PendingRequest::Snapshot::Waiting;
      ++it;
      continue;
    }
    int64_t restore_ns = 0;
    Slot* restored = restore_snapshot(sv, r, best_len, restore_ns);
    Slot& slot = restored ? *restored : *best;
    start_generation(sv, slot, r);
    if (restored) {
      slot.restored_tokens = static_cast<int32_t>(slot.prefill_pos);
      slot.restore_ns = restore_ns;
    }
    it = pending.erase(it);
  }
}

}  // namespace ebb::runner
