#include "memory/tier_machine.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "memory/planner.h"

namespace ebb::memory {

namespace {

using Kind = Action::Kind;

Outcome failure(Error error, std::string message) { return {{}, error, std::move(message)}; }

std::string quoted(std::string_view name) { return "model '" + std::string(name) + "'"; }

void clear_timers(ModelState& m) {
  m.kv_release_at.reset();
  m.unload_at.reset();
  m.host_release_at.reset();
}

bool due(const std::optional<TimePoint>& at, TimePoint now) { return at && *at <= now; }

}  // namespace

const char* to_string(Action::Kind kind) {
  switch (kind) {
    case Kind::SpawnRunner: return "spawn_runner";
    case Kind::CreateContext: return "create_context";
    case Kind::ReleaseKv: return "release_kv";
    case Kind::StopRunner: return "stop_runner";
    case Kind::KillRunner: return "kill_runner";
    case Kind::LockHost: return "lock_host";
    case Kind::UnlockHost: return "unlock_host";
    case Kind::FailRequests: return "fail_requests";
    case Kind::Replan: return "replan";
  }
  return "unknown";
}

const char* to_string(Error error) {
  switch (error) {
    case Error::None: return "none";
    case Error::UnknownModel: return "unknown_model";
    case Error::InvalidTransition: return "invalid_transition";
    case Error::Busy: return "busy";
    case Error::Protected: return "protected";
    case Error::Draining: return "draining";
    case Error::NoRoom: return "no_room";
  }
  return "unknown";
}

TierMachine::TierMachine(MachineConfig config, Ledger ledger) : config_(config), ledger_(std::move(ledger)) {}

bool TierMachine::add(std::string name, Policy policy, uint64_t host_bytes) {
  if (models_.contains(name)) return false;
  ModelState m;
  m.name = name;
  m.policy = policy;
  m.host_bytes = host_bytes;
  m.keep_alive = default_keep_alive(policy);
  models_.emplace(std::move(name), std::move(m));
  return true;
}

bool TierMachine::remove(std::string_view name) {
  auto it = models_.find(name);
  if (it == models_.end() || it->second.tier != Tier::Cold || it->second.busy > 0 || ledger_.accounted(name) > 0)
    return false;
  models_.erase(it);
  return true;
}

const ModelState* TierMachine::find(std::string_view name) const {
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : &it->second;
}

uint64_t TierMachine::host_used() const {
  uint64_t used = 0;
  for (const auto& [name, m] : models_) used += m.host_counted_bytes(config_.device_is_host_ram);
  return used;
}

std::optional<TimePoint> TierMachine::next_deadline() const {
  std::optional<TimePoint> next;
  auto consider = [&](const std::optional<TimePoint>& at) {
    if (at && (!next || *at < *next)) next = at;
  };
  for (const auto& [name, m] : models_) {
    consider(m.kv_release_at);
    consider(m.unload_at);
    consider(m.host_release_at);
  }
  return next;
}

Outcome TierMachine::on(const Event& event, TimePoint now) {
  uint64_t used_before = ledger_.used();
  Outcome out = std::visit(
      [&](const auto& e) -> Outcome {
        if constexpr (requires { e.model; }) {
          auto it = models_.find(e.model);
          if (it == models_.end()) return failure(Error::UnknownModel, quoted(e.model) + " is not known");
          return handle(e, it->second, now);
        } else {
          return handle(e, now);
        }
      },
      event);
  bool replan =
      std::any_of(out.actions.begin(), out.actions.end(), [](const Action& a) { return a.kind == Kind::Replan; });
  if (!replan && ledger_.used() < used_before) out.actions.push_back({Kind::Replan, {}, {}});
#ifndef NDEBUG
  // Debug and sanitizer builds check the books after every event (Release builds trust the tests).
  if (!ledger_.invariant_ok()) {
    std::fprintf(stderr, "TierMachine: the ledger's books do not add up after an event (used %llu, budget %llu)\n",
                 static_cast<unsigned long long>(ledger_.used()), static_cast<unsigned long long>(ledger_.budget()));
    std::abort();
  }
#endif
  return out;
}

// ---- timers -------------------------------------------------------------------------------

KeepAlive TierMachine::default_keep_alive(Policy policy) const {
  switch (policy) {
    case Policy::Resident: return KeepAlive::forever();
    case Policy::OnDemand: return KeepAlive::after(Duration{0});
    case Policy::KeepAlive: return config_.timers.keep_alive;
  }
  return config_.timers.keep_alive;
}

// The model's last request ended (or a preload finished): start its clocks.
void TierMachine::arm_timers(ModelState& m, TimePoint now) {
  if (m.policy == Policy::Resident) return;
  if (m.tier == Tier::Ready && config_.timers.kv_idle >= Duration{0})
    m.kv_release_at = later(now, config_.timers.kv_idle);
  arm_unload_timers(m, now);
}

void TierMachine::arm_unload_timers(ModelState& m, TimePoint now) {
  if (m.is_protected()) return;
  if ((m.tier == Tier::Ready || m.tier == Tier::Warm) && !m.keep_alive.is_forever())
    m.unload_at = later(now, m.keep_alive.duration);
  if (m.tier == Tier::Host && config_.timers.host_keep >= Duration{0})
    m.host_release_at = later(now, config_.timers.host_keep);
}

void TierMachine::fire_due(ModelState& m, TimePoint now, std::vector<Action>& out) {
  if (m.busy > 0) return;
  bool loaded = m.tier == Tier::Ready || m.tier == Tier::Warm;
  if (loaded && due(m.unload_at, now))
    to_host(m, now, out);
  else if (m.tier == Tier::Ready && due(m.kv_release_at, now))
    to_warm(m, out);
  if (m.tier == Tier::Host && due(m.host_release_at, now)) to_cold(m, out);
}

// ---- moves between tiers ------------------------------------------------------------------

void TierMachine::to_warm(ModelState& m, std::vector<Action>& out) {
  m.tier = Tier::Warm;
  m.kv_release_at.reset();
  out.push_back({Kind::ReleaseKv, m.name, {}});
}

// From ready or warm: the runner exits, the file stays locked if the host budget has room
// (making room by sending least recently used host-tier models cold), else the model goes cold.
void TierMachine::to_host(ModelState& m, TimePoint now, std::vector<Action>& out) {
  out.push_back({Kind::StopRunner, m.name, {}});
  m.tier = Tier::Host;
  clear_timers(m);
  if (m.busy == 0 && !m.is_protected() && config_.timers.host_keep == Duration{0}) {
    to_cold(m, out);  // host_keep 0: no host tier at all
    return;
  }
  HostPlan plan = plan_host(config_.host_budget, models_, m.name, m.host_bytes, config_.device_is_host_ram);
  if (!plan.fits) {
    to_cold(m, out);
    return;
  }
  for (const auto& name : plan.to_cold) to_cold(models_.find(name)->second, out);
  if (!m.host_locked) {
    m.host_locked = true;
    out.push_back({Kind::LockHost, m.name, {}});
  }
  if (m.busy == 0) arm_unload_timers(m, now);
}

// Tier and host lock only; a runner on the device is the caller's to stop.
void TierMachine::to_cold(ModelState& m, std::vector<Action>& out) {
  if (m.host_locked) {
    m.host_locked = false;
    out.push_back({Kind::UnlockHost, m.name, {}});
  }
  m.tier = Tier::Cold;
  clear_timers(m);
}

void TierMachine::fail(ModelState& m, std::string error, bool kill, std::vector<Action>& out) {
  if (kill) out.push_back({Kind::KillRunner, m.name, {}});
  out.push_back({Kind::FailRequests, m.name, error});
  m.last_error = std::move(error);
  to_cold(m, out);
}

// ---- events -------------------------------------------------------------------------------

Outcome TierMachine::handle(const RequestArrived&, ModelState& m, TimePoint now) {
  ++m.busy;
  m.last_used = now;
  clear_timers(m);
  return {};
}

Outcome TierMachine::handle(const RequestEnded& e, ModelState& m, TimePoint now) {
  if (m.busy == 0) return failure(Error::InvalidTransition, "no request of " + quoted(m.name) + " is in flight");
  --m.busy;
  m.last_used = now;
  m.keep_alive = e.keep_alive.value_or(default_keep_alive(m.policy));
  Outcome out;
  if (m.busy == 0) {
    arm_timers(m, now);
    fire_due(m, now, out.actions);
    out.actions.push_back({Kind::Replan, {}, {}});
  }
  return out;
}

Outcome TierMachine::handle(const LoadStarted& e, ModelState& m, TimePoint now) {
  if (m.tier != Tier::Cold && m.tier != Tier::Host && m.tier != Tier::Warm)
    return failure(Error::InvalidTransition, quoted(m.name) + " is " + to_string(m.tier));
  if (ledger_.accounted(m.name) > m.device_bytes())
    return failure(Error::Draining, quoted(m.name) + " is still releasing its previous bytes");
  uint64_t held = ledger_.held(m.name);
  uint64_t needed = e.footprint.total() > held ? e.footprint.total() - held : 0;
  if (!ledger_.reserve(m.name, needed))
    return failure(Error::NoRoom, quoted(m.name) + " needs " + bytes_text(needed) + " but only " +
                                      bytes_text(ledger_.free()) + " of the " + bytes_text(ledger_.budget()) +
                                      " budget is free");
  Outcome out;
  Kind start = m.tier == Tier::Warm ? Kind::CreateContext : Kind::SpawnRunner;
  out.actions.push_back({start, m.name, {}});
  m.footprint = e.footprint;
  m.tier = Tier::Loading;
  m.last_used = now;
  m.last_error.clear();
  clear_timers(m);
  return out;
}

Outcome TierMachine::handle(const LoadSucceeded& e, ModelState& m, TimePoint now) {
  if (m.tier != Tier::Loading) return failure(Error::InvalidTransition, quoted(m.name) + " is " + to_string(m.tier));
  Outcome out;
  uint64_t accounted = ledger_.accounted(m.name);
  if (!ledger_.commit(m.name, e.actual.total())) {
    // Keep what was reserved accounted until the runner is gone (RunnerExited).
    ledger_.commit(m.name, accounted);
    std::string why = quoted(m.name) + " measured " + bytes_text(e.actual.total()) +
                      " after loading, more than its reservation of " + bytes_text(accounted) + " and the " +
                      bytes_text(ledger_.free()) + " free";
    fail(m, why, /*kill=*/true, out.actions);
    out.error = Error::NoRoom;
    out.message = std::move(why);
    return out;
  }
  m.footprint = e.actual;
  m.tier = Tier::Ready;
  m.last_used = now;
  if (m.busy == 0) {  // a preload: nobody's request will end to start the clocks
    arm_timers(m, now);
    fire_due(m, now, out.actions);
  }
  return out;
}

Outcome TierMachine::handle(const LoadFailed& e, ModelState& m, TimePoint) {
  if (m.tier != Tier::Loading) return failure(Error::InvalidTransition, quoted(m.name) + " is " + to_string(m.tier));
  ledger_.commit(m.name, ledger_.accounted(m.name));  // accounted until RunnerExited
  Outcome out;
  fail(m, e.error.empty() ? quoted(m.name) + " failed to load" : e.error, /*kill=*/true, out.actions);
  return out;
}

Outcome TierMachine::handle(const KvReleaseRequested&, ModelState& m, TimePoint) {
  if (m.policy == Policy::Resident)
    return failure(Error::Protected, quoted(m.name) + " is resident and keeps its KV cache");
  if (m.tier == Tier::Warm) return {};
  if (m.tier != Tier::Ready) return failure(Error::InvalidTransition, quoted(m.name) + " is " + to_string(m.tier));
  if (m.busy > 0)
    return failure(Error::Busy, quoted(m.name) + " has " + std::to_string(m.busy) + " request(s) in flight");
  Outcome out;
  to_warm(m, out.actions);
  return out;
}

Outcome TierMachine::handle(const KvReleased&, ModelState& m, TimePoint) {
  // Late confirmations (the model moved on since) change nothing: RunnerExited settles those.
  if (m.tier == Tier::Warm) ledger_.resize(m.name, std::min(ledger_.held(m.name), m.footprint.without_kv()));
  return {};
}

Outcome TierMachine::handle(const UnloadRequested& e, ModelState& m, TimePoint now) {
  if (m.policy == Policy::Resident) return failure(Error::Protected, quoted(m.name) + " is resident");
  if (m.pinned) return failure(Error::Protected, quoted(m.name) + " is pinned; unpin it first");
  Outcome out;
  switch (m.tier) {
    case Tier::Cold: return out;
    case Tier::Host:
      if (e.to_cold) to_cold(m, out.actions);
      return out;
    case Tier::Loading: return failure(Error::InvalidTransition, quoted(m.name) + " is loading");
    case Tier::Ready:
    case Tier::Warm:
      if (m.busy > 0)
        return failure(Error::Busy, quoted(m.name) + " has " + std::to_string(m.busy) + " request(s) in flight");
      if (e.to_cold) {
        out.actions.push_back({Kind::StopRunner, m.name, {}});
        to_cold(m, out.actions);
      } else {
        to_host(m, now, out.actions);
      }
      return out;
  }
  return out;
}

Outcome TierMachine::handle(const ReloadRequested&, ModelState& m, TimePoint now) {
  if (m.tier != Tier::Ready && m.tier != Tier::Warm)
    return failure(Error::InvalidTransition, quoted(m.name) + " is " + to_string(m.tier));
  Outcome out;
  to_host(m, now, out.actions);
  return out;
}

Outcome TierMachine::handle(const RunnerExited& e, ModelState& m, TimePoint now) {
  if (on_device(m.tier))
    return handle(RunnerDied{e.model, "the runner of " + quoted(m.name) + " exited unexpectedly"}, m, now);
  ledger_.release(m.name);
  return {};
}

Outcome TierMachine::handle(const RunnerDied& e, ModelState& m, TimePoint) {
  ledger_.release(m.name);
  Outcome out;
  if (on_device(m.tier))
    fail(m, e.error.empty() ? "the runner of " + quoted(m.name) + " died" : e.error,
         /*kill=*/false, out.actions);
  return out;
}

Outcome TierMachine::handle(const PinChanged& e, ModelState& m, TimePoint now) {
  m.pinned = e.pinned;
  Outcome out;
  if (m.pinned) {
    m.unload_at.reset();
    m.host_release_at.reset();
  } else if (m.busy == 0) {
    arm_unload_timers(m, now);
    fire_due(m, now, out.actions);
  }
  return out;
}

Outcome TierMachine::handle(const Tick&, TimePoint now) {
  Outcome out;
  for (auto& [name, m] : models_) fire_due(m, now, out.actions);
  return out;
}

}  // namespace ebb::memory
