#pragma once
// KV snapshots on the runner side: a slot's state goes to the supervisor as a "snapshot" header
// plus a sealed memfd (before a context is freed, at shutdown with save, and with the prompt
// cache before a slot is overwritten), and a snapshot the supervisor sent back is restored into
// a free slot.
#include <cstddef>
#include <cstdint>

#include "runner/pending.h"
#include "runner/serving.h"

namespace ebb::runner {

// Sends one slot's state: a "snapshot" header, then the state in a sealed memfd. Nothing (a
// warning) when the slot's sequence does not hold its cached tokens or llama.cpp saves nothing.
void save_slot(Serving& sv, const Slot& s);
// Saves every idle, non-empty slot (release_kv, shutdown with save). Needs a context.
void save_idle_slots(Serving& sv);
// With the prompt cache on, a slot is saved before a request with other content takes it over,
// one that keeps only `keep` of its tokens (see scheduler.h: worth_saving_before_overwrite).
void save_before_overwrite(Serving& sv, const Slot& s, size_t keep);

// Loads the request's snapshot into a free slot if it covers more of the prompt than
// `best_len`, the best free slot's common prefix. Returns that slot (restore_ns: how long it
// took), or nullptr: no snapshot, not better, or rejected by llama.cpp (then the request
// prefills). Either way the request's snapshot is dropped.
Slot* restore_snapshot(Serving& sv, PendingRequest& r, size_t best_len, int64_t& restore_ns);

}  // namespace ebb::runner
