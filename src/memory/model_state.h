#pragma once
// One model as the memory manager tracks it: tier, policy, pin, in-flight requests, timers and
// the footprint of its loaded instance. Plain data; TierMachine (tier_machine.h) is the only
// writer, the planner (planner.h) and the API read it.
//
//   Tier      cold → host → loading → ready ⇄ warm → host → cold  (docs/design.md, "Tiers of one model")
//   Policy    resident | on_demand | keep_alive          parse_policy("on_demand"), to_string()
//   KeepAlive Ollama semantics: after(d), after(0) = unload right after the request, forever()
//
//   state.device_bytes()      bytes it holds on its device once pending releases are done
//   state.host_counted_bytes(device_is_host_ram)   bytes it holds against the host budget
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "memory/clock.h"
#include "memory/footprint.h"

namespace ebb::memory {

enum class Tier {
  Cold,     // file on disk only
  Host,     // file pages locked in RAM (mmap + mlock) by the supervisor, no runner
  Loading,  // bytes reserved, runner starting or re-creating its context
  Ready,    // weights, KV and compute buffers on the device
  Warm,     // the runner freed its llama_context: weights stay, KV and compute are gone
};
const char* to_string(Tier tier);  // "cold", "host", "loading", "ready", "warm"
bool on_device(Tier tier);         // loading, ready, warm

enum class Policy {
  Resident,   // loaded at startup, never demoted or evicted, never releases its KV
  OnDemand,   // loaded per request, unloaded to host right after it
  KeepAlive,  // the default: unloaded to host when keep_alive expires
};
const char* to_string(Policy policy);  // "resident", "on_demand", "keep_alive"
std::optional<Policy> parse_policy(std::string_view text);

// How long a model stays on the device after its last request (Ollama's keep_alive). Same shape
// as ebb::KeepAlive in common/units.h, so the supervisor converts field by field.
struct KeepAlive {
  enum class Kind { Duration, Forever };
  Kind kind = Kind::Duration;
  Duration duration{0};  // when kind == Duration; 0 = unload right after the request

  static KeepAlive forever() { return {Kind::Forever, {}}; }
  static KeepAlive after(Duration d) { return {Kind::Duration, d < Duration{0} ? Duration{0} : d}; }
  bool is_forever() const { return kind == Kind::Forever; }
  bool is_zero() const { return kind == Kind::Duration && duration.count() == 0; }
  bool operator==(const KeepAlive&) const = default;
};

struct ModelState {
  std::string name;
  Policy policy = Policy::KeepAlive;
  Tier tier = Tier::Cold;
  bool pinned = false;                       // /api/models/pin: the planner and keep_alive leave it alone
  int busy = 0;                              // requests in flight, including those waiting for a load
  TimePoint last_used{};                     // last request start or end; the LRU key
  Footprint footprint;                       // the loaded (or loading) instance; the last one when off device
  KeepAlive keep_alive;                      // in effect: the last request's override, else the policy's
  std::optional<TimePoint> kv_release_at;    // ready → warm   (kv_idle)
  std::optional<TimePoint> unload_at;        // ready/warm → host (keep_alive)
  std::optional<TimePoint> host_release_at;  // host → cold   (host_keep)
  uint64_t host_bytes = 0;                   // file size: what locking it in the host tier costs
  bool host_locked = false;                  // the supervisor holds the file's pages locked
  std::string last_error;                    // why the last load failed or the runner died

  bool is_protected() const { return pinned || policy == Policy::Resident; }
  uint64_t device_bytes() const;
  uint64_t host_counted_bytes(bool device_is_host_ram) const;
};

// Keyed by model name; ordered, so every walk over the models is deterministic.
using Models = std::map<std::string, ModelState, std::less<>>;

}  // namespace ebb::memory
