#pragma once
// Which slot a request gets, and when KV moves between slots, snapshots and the supervisor.
// The choices are pure functions over the slots; assign_pending carries them out.
#include <cstddef>
#include <deque>
#include <vector>

#include "common/messages.h"
#include "runner/pending.h"
#include "runner/serving.h"
#include "runner/slot.h"

namespace ebb::runner {

// A busy slot's prefix is copied into a free slot only when it saves at least this many tokens
// of prefill (the copy moves a whole per-slot KV buffer).
inline constexpr size_t kMinSharedPrefix = 32;
// A snapshot is asked for, or a slot saved before it is overwritten, only for at least this many
// tokens (the supervisor sends one back only when it covers this many more than the slots do).
inline constexpr size_t kMinReuseGain = protocol::kSnapshotMinGain;

// The free slot with the longest common prefix with `prompt` (the first of equals); nullptr
// when all are busy. best_len: that prefix's length.
Slot* best_free_slot(std::vector<Slot>& slots, const std::vector<Token>& prompt, size_t& best_len);
// Where a snapshot, a copied prefix or an embed goes: the free slot caching least (an empty one
// if any; the first of equals); nullptr when all are busy.
Slot* least_cached_free_slot(std::vector<Slot>& slots);
// The busy generating slot whose computed tokens share the longest prefix with `prompt`, when
// that prefix beats `best_len` (the best free slot's) by kMinSharedPrefix; else nullptr.
Slot* shared_prefix_source(std::vector<Slot>& slots, const std::vector<Token>& prompt, size_t best_len,
                           size_t& shared_len);
// A slot holding `cached` tokens is saved before a request that keeps `keep` of them takes it
// over when it loses at least kMinReuseGain tokens and keeps less than half. A request that keeps
// most of the slot (the same conversation going on) saves nothing: the state would be mostly the
// prefix the slot still holds.
bool worth_saving_before_overwrite(size_t cached, size_t keep);
// A request asks the supervisor for a snapshot when the best free slot leaves at least
// kMinReuseGain prompt tokens to prefill.
bool worth_asking_for_snapshot(size_t best_len, size_t prompt_len);

// Moves pending requests into free slots, in order: the free slot with the longest common prefix
// wins, unless a busy slot's prefix or a snapshot covers more of the prompt; a generate with
// "snapshots" sends want_snapshot first and stays parked until the answer. Re-creates a freed
// context first. Stops at the first request that finds no free slot.
void assign_pending(Serving& sv, std::deque<PendingRequest>& pending);

}  // namespace ebb::runner
