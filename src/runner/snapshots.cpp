#include "runner/snapshots.h"

#include <memory>

#include <spdlog/spdlog.h>

#include "common/shared_blob.h"
#include "runner/scheduler.h"
#include "runner/timing.h"

namespace ebb::runner {

using json = nlohmann::json;
using protocol::Msg;

void save_slot(Serving& sv, const Slot& s) {
  const auto& p = sv.engine.params();
  if (sv.engine.sequence_length(s.seq()) != s.cache().size()) {
    spdlog::warn("runner: slot {} holds {} positions for {} tokens; not saved", s.seq(),
                 sv.engine.sequence_length(s.seq()), s.cache().size());
    return;
  }
  auto t0 = Clock::now();
  std::shared_ptr<SharedBlob> state;
  try {
    state = SharedBlob::create(sv.engine.sequence_state_size(s.seq()), "ebb-kv-snapshot");
    state->seal(sv.engine.save_sequence_into(s.seq(), state->data(), state->size()));
  } catch (const std::exception& e) {
    spdlog::warn("runner: slot {} snapshot failed: {}", s.seq(), e.what());
    return;
  }
  if (state->size() == 0) {
    spdlog::warn("runner: slot {} snapshot failed (llama.cpp wrote nothing)", s.seq());
    return;
  }
  sv.out.send({{"type", type_name(Msg::Snapshot)},
               {"slot", s.seq()},
               {"tokens", s.cache()},
               {"n_ctx", p.num_ctx},
               {"kv_cache_type", p.kv_cache_type},
               {"num_parallel", p.num_parallel},
               {"flash_attn", p.flash_attn ? json(*p.flash_attn) : json()},
               {"bytes", state->size()},
               {"save_ns", ns_between(t0, Clock::now())}});
  sv.out.send_shared(*state);  // after the header
}

void save_idle_slots(Serving& sv) {
  if (!sv.engine.has_context()) return;
  for (auto& s : sv.slots)
    if (!s.active && !s.cache().empty()) save_slot(sv, s);
}

void save_before_overwrite(Serving& sv, const Slot& s, size_t keep) {
  if (sv.prompt_cache && worth_saving_before_overwrite(s.cache().size(), keep)) save_slot(sv, s);
}

Slot* restore_snapshot(Serving& sv, PendingRequest& r, size_t best_len, int64_t& restore_ns) {
  if (!r.snapshot_state || common_prefix(r.snapshot_tokens, *r.prompt) <= best_len) return nullptr;
  Slot* target = least_cached_free_slot(sv.slots);
  save_before_overwrite(sv, *target, 0);
  auto t0 = Clock::now();
  bool ok = false;
  try {
    const std::string_view state = r.snapshot_state->view();  // mapped, not copied
    ok = target->restore(sv.engine, state, std::move(r.snapshot_tokens));
  } catch (const std::exception& e) {
    spdlog::warn("runner: cannot map the snapshot for request {}: {}", r.id, e.what());
  }
  const size_t bytes = r.snapshot_state->size();
  r.snapshot_state.reset();  // unmapped; the supervisor keeps its own reference
  if (!ok) {
    spdlog::warn("runner: llama.cpp rejected the snapshot for request {} ({} bytes); prefilling instead", r.id, bytes);
    target->clear(sv.engine);
    return nullptr;
  }
  restore_ns = ns_between(t0, Clock::now());
  spdlog::debug("runner: restored {} tokens ({} MiB) into slot {} in {:.1f} ms", target->cache().size(), bytes >> 20,
                target->seq(), restore_ns / 1e6);
  return target;
}

}  // namespace ebb::runner
