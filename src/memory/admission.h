#pragma once
// Admission: the next step for one request that wants a model with a given context. Pure: the
// supervisor (ModelManager::acquire) and the planner simulation (tests/unit/planner_test.cpp)
// both ask it and carry out what it says, then ask again, so the decision exists once.
//
//   Admission step = next_admission({state, num_ctx, others_in_flight, footprint}, models, ledger);
//     AdmitServe      ready with a context at least as large: hand out the runner
//     AdmitJoin       a load of a large enough context is under way: wait for it
//     AdmitAwaitIdle  it must reload for a larger context, but other requests hold it: wait
//     AdmitReload     nothing else runs on it: feed ReloadRequested, then ask again
//     AdmitMeasure    a load (wake when warm) is next, and its footprint is not known yet:
//                     measure it for `num_ctx`, then ask again with it
//     AdmitStart      it fits: feed LoadStarted{footprint}, then load (`bytes` is what it adds)
//     Evict           feed the steps (KvReleaseRequested / UnloadRequested), then wait and ask again
//     Wait            queue the request (WaitQueue), ask again when something changes
//     Refuse          503 with its message
//
// A warm model keeps its weights and re-creates a context of at least the size it had.
#include <cstdint>
#include <variant>

#include "memory/footprint.h"
#include "memory/ledger.h"
#include "memory/model_state.h"
#include "memory/planner.h"

namespace ebb::memory {

struct AdmissionQuery {
  const ModelState& model;
  uint32_t num_ctx = 0;                  // per slot, as the request wants it
  bool others_in_flight = false;         // another request runs (or waits) on this model
  const Footprint* footprint = nullptr;  // measured for the last AdmitMeasure's num_ctx, else null
};

struct AdmitServe {};
struct AdmitJoin {};
struct AdmitAwaitIdle {};
struct AdmitReload {};
struct AdmitMeasure {
  uint32_t num_ctx = 0;
  bool warm = false;  // a wake: the weights stay and only a context is created
};
struct AdmitStart {
  uint64_t bytes = 0;  // what the load adds to the ledger (the warm runner's held bytes are not counted)
  bool warm = false;
};
using Admission =
    std::variant<AdmitServe, AdmitJoin, AdmitAwaitIdle, AdmitReload, AdmitMeasure, AdmitStart, Evict, Wait, Refuse>;

Admission next_admission(const AdmissionQuery& query, const Models& models, const Ledger& ledger);

// The context a load for `num_ctx` creates: a warm model keeps at least the one it had.
uint32_t load_context(const ModelState& model, uint32_t num_ctx);

const char* to_string(const Admission& step);  // "serve", "join", ..., "refuse"

}  // namespace ebb::memory
