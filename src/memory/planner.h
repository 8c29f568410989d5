#pragma once
// Admission planner: pure decisions over (models, ledger). No I/O, no clock, no mutation: the
// supervisor executes what it returns through TierMachine events and plans again.
//
//   Plan plan = plan_load({"m", bytes}, machine.models(), machine.ledger());
//     Fits    reserve now: machine.on(LoadStarted{...})
//     Evict   run the steps in order (ReleaseKv → KvReleaseRequested, DemoteToHost →
//             UnloadRequested), then plan again once their runners confirmed (Replan action)
//     Wait    busy models hold the rest, or released bytes are still draining: queue the request
//             (WaitQueue) and plan again on each Replan
//     Refuse  answer 503 with refuse.message
//
// `bytes` is what the load adds on the device: fp.total() from cold or host, fp.total() minus
// what the warm runner holds when waking it. The order (docs/design.md, "Planner, in words"):
//   0. bytes already being released (runners exiting, KV being freed) count as coming back;
//   1. release KV of idle ready models, least recently used first, until it fits;
//   2. demote idle models to host: the smallest one that alone covers the rest (ties, within a
//      MiB: least recently used), else least recently used first until it fits; then drop the KV releases
//      of step 1 that the demotions made unnecessary, most recently used first;
//   3. wait when busy models that run or load hold the rest (a busy warm model is itself
//      waiting for room, so it does not count);
//   4. refuse, naming the bytes needed and free and what is pinned or busy.
// Pinned, resident and busy models, and the requesting model itself, are never chosen.
//
//   refuse(request, models, ledger, why)   a Refuse with the numbers, for a wait that timed out
//                                          or a full queue
//   plan_reuse(state, num_ctx)             serve, join a load, wake, load or reload
//                                          (admission.h turns both into one request's next step)
//   check_resident_set(budget, residents)  error text when the residents do not fit
//   plan_host(budget, models, model, bytes, device_is_host_ram)
//                                          host-tier models that go cold (LRU) to lock `bytes`
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "memory/ledger.h"
#include "memory/model_state.h"

namespace ebb::memory {

struct LoadRequest {
  std::string model;
  uint64_t bytes = 0;  // what the load adds to the device's accounted use
};

// A model and the device bytes it holds (pinned/busy listings, resident sets).
struct Holder {
  std::string model;
  uint64_t bytes = 0;
  bool operator==(const Holder&) const = default;
};

struct Step {
  enum class Kind { ReleaseKv, DemoteToHost };
  Kind kind;
  std::string model;
  uint64_t frees = 0;  // device bytes this step gives back
  bool operator==(const Step&) const = default;
};
const char* to_string(Step::Kind kind);  // "release_kv", "demote_to_host"

struct Fits {};
struct Evict {
  std::vector<Step> steps;
};
struct Wait {
  uint64_t needed = 0;
  uint64_t available = 0;        // free now
  std::vector<Holder> busy;      // waiting for these to finish
  std::vector<Holder> draining;  // bytes already on their way back
  std::string message;
};
struct Refuse {
  uint64_t needed = 0;
  uint64_t available = 0;  // free now
  uint64_t budget = 0;
  std::vector<Holder> pinned;  // pinned and resident models
  std::vector<Holder> busy;
  std::string message;  // "model 'x' needs 1.2 GiB but only 300 MiB of the 6.4 GiB budget is
                        //  free; pinned: a (2.0 GiB); busy: b (1.1 GiB)"
};
using Plan = std::variant<Fits, Evict, Wait, Refuse>;

Plan plan_load(const LoadRequest& request, const Models& models, const Ledger& ledger);
Refuse refuse(const LoadRequest& request, const Models& models, const Ledger& ledger, std::string_view why = {});

enum class Reuse {
  Serve,   // ready with a context at least as large: use it
  Join,    // loading with a context at least as large: wait for that load
  Wake,    // warm: re-create the context (any size; weights stay) — plan_load, then LoadStarted
  Load,    // cold or host — plan_load, then LoadStarted
  Reload,  // loaded with a smaller context: once nothing runs on it, ReloadRequested, then Load
};
const char* to_string(Reuse reuse);
Reuse plan_reuse(const ModelState& model, uint32_t num_ctx);

// nullopt when the residents fit the budget; otherwise the message that fails startup.
std::optional<std::string> check_resident_set(uint64_t budget, const std::vector<Holder>& residents);

struct HostPlan {
  bool fits = false;
  std::vector<std::string> to_cold;  // least recently used first
  uint64_t needed = 0;
  uint64_t available = 0;  // host budget free before anything goes cold
  std::string message;     // why it does not fit
};
// Room in the host budget for `bytes` more locked for `model` (whose own bytes are not counted).
// Candidates: idle, unpinned, host-tier models other than `model`, least recently used first.
HostPlan plan_host(uint64_t host_budget, const Models& models, std::string_view model, uint64_t bytes,
                   bool device_is_host_ram);

}  // namespace ebb::memory
