#pragma once
// TierMachine: every model's tier, timers and device bytes, driven by events. Pure: no I/O, no
// threads, no clock. The supervisor holds one under its mutex, feeds it events with the current
// time and carries out the actions it returns, in order:
//
//   TierMachine machine(config, Ledger(total, headroom));
//   machine.add("m", Policy::KeepAlive, file_size);
//   Outcome out = machine.on(RequestArrived{"m"}, now);      // out.actions, out.error
//   machine.next_deadline() → when to send Tick{} next
//
// One request, as the supervisor drives it (admission.h's next_admission decides each step from
// planner.h's plan_reuse and plan_load):
//   on(RequestArrived{m})                        busy + 1, timers cancelled
//   switch plan_reuse(*find(m), num_ctx):
//     Serve   run it
//     Join    wait for its LoadSucceeded
//     Reload  once nothing runs on the instance: on(ReloadRequested{m}), then as Load
//     Wake, Load → plan_load({m, fp.total() − ledger().held(m)}, models(), ledger()):
//       Fits    on(LoadStarted{m, fp}) → SpawnRunner/CreateContext → LoadSucceeded/LoadFailed
//       Evict   on(KvReleaseRequested) / on(UnloadRequested) per step; queue; plan again on Replan
//       Wait    queue (WaitQueue); plan again on Replan; 503 on timeout or a full queue
//       Refuse  503 with its message
//   on(RequestEnded{m, keep_alive})              the last one arms the timers
// A client that leaves ends its request the same way; a load already started goes on.
//
// Transitions (docs/design.md, "Transitions"; resident at start and preload are LoadStarted without a
// request):
//   cold/host/warm  LoadStarted(fp)         → loading   reserves bytes first (NoRoom if not),
//                                                        SpawnRunner, or CreateContext when warm
//   loading         LoadSucceeded(actual)   → ready     commits the actual bytes
//   loading         LoadFailed / dies       → cold      KillRunner, FailRequests
//   ready           RequestEnded, last one  → ready     timers armed (none for resident)
//   ready           KvReleaseRequested / kv_idle → warm  ReleaseKv (runner saves snapshots)
//   ready/warm      UnloadRequested / keep_alive / on_demand / keep_alive 0 / ReloadRequested
//                                           → host      StopRunner, LockHost; LRU host models go
//                                                        cold when the host budget needs room
//   ready/warm      UnloadRequested{to_cold}→ cold      StopRunner, UnlockHost
//   host            host_keep / UnloadRequested{to_cold} / host budget full → cold  UnlockHost
//   on device       RunnerDied              → cold      bytes freed at once, FailRequests
//   any             RequestArrived          timers cancelled
//
// Bytes leave the ledger only when the runner confirms: KvReleased after ReleaseKv,
// RunnerExited after StopRunner/KillRunner. Until then they are "draining": the planner waits
// for them and LoadStarted for that model answers Draining. Whenever bytes come back or a model
// stops being busy the actions end with Replan: plan waiting loads again.
//
// Timers start when the model's last request ends (or a preload finishes) and a request
// cancels them: kv_idle releases KV (not for resident), keep_alive unloads to host (0: at once;
// forever: never; on_demand: 0; pinned: never), host_keep sends a host-tier model cold (armed
// on entering host). A negative kv_idle or host_keep disables that timer.
//
// Invalid events change nothing and answer an Error; they are never undefined behaviour.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "memory/clock.h"
#include "memory/footprint.h"
#include "memory/ledger.h"
#include "memory/model_state.h"

namespace ebb::memory {

struct TimerConfig {
  Duration kv_idle = std::chrono::minutes(5);
  KeepAlive keep_alive = KeepAlive::after(std::chrono::minutes(15));  // policy keep_alive
  Duration host_keep = std::chrono::hours(1);
};

struct MachineConfig {
  TimerConfig timers;
  uint64_t host_budget = std::numeric_limits<uint64_t>::max();  // for locked model files
  bool device_is_host_ram = false;  // CPU device: locked pages a runner maps count as device bytes
};

// Events. `model` names a model added with TierMachine::add.
struct RequestArrived {
  std::string model;
};
// keep_alive: the request's own (Ollama's field); unset = the policy's.
struct RequestEnded {
  std::string model;
  std::optional<KeepAlive> keep_alive = {};
};
struct LoadStarted {
  std::string model;
  Footprint footprint;
};  // after plan_load said Fits
struct LoadSucceeded {
  std::string model;
  Footprint actual;
};
struct LoadFailed {
  std::string model;
  std::string error = {};
};
struct KvReleaseRequested {
  std::string model;
};  // /api/models/release-kv or planner step 1
struct KvReleased {
  std::string model;
};  // the runner freed its context
struct UnloadRequested {
  std::string model;
  bool to_cold = false;
};  // API or planner step 2
struct ReloadRequested {
  std::string model;
};  // plan_reuse said Reload; nothing runs on it
struct RunnerExited {
  std::string model;
};  // the runner process ended (any reason)
struct RunnerDied {
  std::string model;
  std::string error = {};
};
struct PinChanged {
  std::string model;
  bool pinned = true;
};
struct Tick {};
using Event = std::variant<RequestArrived, RequestEnded, LoadStarted, LoadSucceeded, LoadFailed, KvReleaseRequested,
                           KvReleased, UnloadRequested, ReloadRequested, RunnerExited, RunnerDied, PinChanged, Tick>;

struct Action {
  enum class Kind {
    SpawnRunner,    // start a runner for model.footprint (n_ctx, n_parallel) → LoadSucceeded/Failed
    CreateContext,  // warm runner: new context, snapshot restored → LoadSucceeded/Failed
    ReleaseKv,      // runner: save snapshots, free the context; then KvReleased
    StopRunner,     // runner: save snapshots and exit; then RunnerExited
    KillRunner,     // runner: kill it; then RunnerExited
    LockHost,       // mmap + mlock the model's file
    UnlockHost,     // munlock + unmap it
    FailRequests,   // answer the model's waiting requests with `message`
    Replan,         // bytes came back or a model became idle: plan waiting loads again
  };
  Kind kind;
  std::string model;    // empty for Replan
  std::string message;  // FailRequests
  bool operator==(const Action&) const = default;
};
const char* to_string(Action::Kind kind);

enum class Error {
  None,
  UnknownModel,       // 404
  InvalidTransition,  // not possible from the model's tier (or nothing in flight to end)
  Busy,               // requests in flight
  Protected,          // resident or pinned
  Draining,           // its previous runner has not released its bytes yet: plan again later
  NoRoom,             // the reservation does not fit: plan again
};
const char* to_string(Error error);

struct Outcome {
  std::vector<Action> actions;
  Error error = Error::None;
  std::string message;  // why, for errors
  bool ok() const { return error == Error::None; }
};

class TierMachine {
 public:
  explicit TierMachine(MachineConfig config = {}, Ledger ledger = Ledger());

  // Registers a cold model; false when the name is taken.
  bool add(std::string name, Policy policy, uint64_t host_bytes = 0);
  // Forgets a cold, idle model; false otherwise.
  bool remove(std::string_view name);

  Outcome on(const Event& event, TimePoint now);

  // Device bytes held by something other than a model (a pre-spawned runner's GPU context):
  // in the ledger like a model's bytes, never evicted. False, and nothing held, when they do not
  // fit the budget.
  bool hold_other(const std::string& id, uint64_t bytes) { return ledger_.commit(id, bytes); }

  const ModelState* find(std::string_view name) const;
  const Models& models() const { return models_; }
  const Ledger& ledger() const { return ledger_; }
  const MachineConfig& config() const { return config_; }
  uint64_t host_used() const;                      // bytes locked against the host budget
  std::optional<TimePoint> next_deadline() const;  // earliest armed timer

 private:
  Outcome handle(const RequestArrived&, ModelState&, TimePoint);
  Outcome handle(const RequestEnded&, ModelState&, TimePoint);
  Outcome handle(const LoadStarted&, ModelState&, TimePoint);
  Outcome handle(const LoadSucceeded&, ModelState&, TimePoint);
  Outcome handle(const LoadFailed&, ModelState&, TimePoint);
  Outcome handle(const KvReleaseRequested&, ModelState&, TimePoint);
  Outcome handle(const KvReleased&, ModelState&, TimePoint);
  Outcome handle(const UnloadRequested&, ModelState&, TimePoint);
  Outcome handle(const ReloadRequested&, ModelState&, TimePoint);
  Outcome handle(const RunnerExited&, ModelState&, TimePoint);
  Outcome handle(const RunnerDied&, ModelState&, TimePoint);
  Outcome handle(const PinChanged&, ModelState&, TimePoint);
  Outcome handle(const Tick&, TimePoint);

  KeepAlive default_keep_alive(Policy policy) const;
  void arm_timers(ModelState& m, TimePoint now);
  void arm_unload_timers(ModelState& m, TimePoint now);
  void fire_due(ModelState& m, TimePoint now, std::vector<Action>& out);
  void to_warm(ModelState& m, std::vector<Action>& out);
  void to_host(ModelState& m, TimePoint now, std::vector<Action>& out);
  void to_cold(ModelState& m, std::vector<Action>& out);
  void fail(ModelState& m, std::string error, bool kill, std::vector<Action>& out);

  MachineConfig config_;
  Ledger ledger_;
  Models models_;
};

}  // namespace ebb::memory
