#include "memory/model_state.h"

namespace ebb::memory {

const char* to_string(Tier tier) {
  switch (tier) {
    case Tier::Cold: return "cold";
    case Tier::Host: return "host";
    case Tier::Loading: return "loading";
    case Tier::Ready: return "ready";
    case Tier::Warm: return "warm";
  }
  return "unknown";
}

bool on_device(Tier tier) { return tier == Tier::Loading || tier == Tier::Ready || tier == Tier::Warm; }

const char* to_string(Policy policy) {
  switch (policy) {
    case Policy::Resident: return "resident";
    case Policy::OnDemand: return "on_demand";
    case Policy::KeepAlive: return "keep_alive";
  }
  return "unknown";
}

std::optional<Policy> parse_policy(std::string_view text) {
  if (text == "resident") return Policy::Resident;
  if (text == "on_demand" || text == "on-demand") return Policy::OnDemand;
  if (text == "keep_alive" || text == "keep-alive") return Policy::KeepAlive;
  return std::nullopt;
}

uint64_t ModelState::device_bytes() const {
  switch (tier) {
    case Tier::Loading:
    case Tier::Ready: return footprint.total();
    case Tier::Warm: return footprint.without_kv();
    case Tier::Cold:
    case Tier::Host: return 0;
  }
  return 0;
}

uint64_t ModelState::host_counted_bytes(bool device_is_host_ram) const {
  if (!host_locked) return 0;
  // On the CPU device the runner maps the very pages the supervisor locked: they are counted
  // once, as device bytes.
  if (device_is_host_ram && on_device(tier)) return 0;
  return host_bytes;
}

}  // namespace ebb::memory
