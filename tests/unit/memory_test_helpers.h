#pragma once
// Shared by the src/memory unit tests: sizes, a manual clock and ready-made models.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "memory/footprint.h"
#include "memory/ledger.h"
#include "memory/model_state.h"
#include "memory/tier_machine.h"

namespace ebb::memory::memtest {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;

using namespace std::chrono_literals;

// A fixed origin far from the clock's epoch; tests add durations to it.
inline const TimePoint t0 = TimePoint{} + 24h;

inline Footprint fp(uint64_t weights, uint64_t kv, uint64_t compute = 0, uint64_t baseline = 0, uint32_t n_ctx = 4096) {
  Footprint f;
  f.device = "CUDA0";
  f.weights = weights;
  f.kv = kv;
  f.compute = compute;
  f.baseline = baseline;
  f.n_ctx = n_ctx;
  return f;
}

// Puts a model on the ledger's device directly (planner tests): the ledger holds its tier's bytes.
inline ModelState& place(Models& models, Ledger& ledger, const std::string& name, Tier tier, Footprint footprint,
                         TimePoint last_used, int busy = 0, bool pinned = false, Policy policy = Policy::KeepAlive) {
  ModelState m;
  m.name = name;
  m.tier = tier;
  m.footprint = footprint;
  m.last_used = last_used;
  m.busy = busy;
  m.pinned = pinned;
  m.policy = policy;
  if (tier == Tier::Loading)
    ledger.reserve(name, m.device_bytes());
  else if (m.device_bytes() > 0)
    ledger.commit(name, m.device_bytes());
  return models[name] = m;
}

inline bool has_action(const Outcome& out, Action::Kind kind, const std::string& model = {}) {
  return std::any_of(out.actions.begin(), out.actions.end(),
                     [&](const Action& a) { return a.kind == kind && (model.empty() || a.model == model); });
}

inline std::vector<Action::Kind> kinds(const Outcome& out) {
  std::vector<Action::Kind> k;
  for (const auto& a : out.actions) k.push_back(a.kind);
  return k;
}

}  // namespace ebb::memory::memtest
