#pragma once
// The runner's clock; durations on the wire are nanoseconds.
#include <chrono>
#include <cstdint>

namespace ebb::runner {

using Clock = std::chrono::steady_clock;

inline int64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

}  // namespace ebb::runner
