#pragma once
// Time as the memory manager sees it. Nothing in src/memory reads a clock: every function that
// needs the time takes `now`, so tests drive time by hand (TimePoint{} + 5min).
#include <algorithm>
#include <chrono>

namespace ebb::memory {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

// now + d, with d capped at 100 years: a huge keep_alive must not overflow the clock.
inline TimePoint later(TimePoint now, Duration d) {
  constexpr Duration cap = std::chrono::hours(24 * 365 * 100);
  return now + std::min(d, cap);
}

}  // namespace ebb::memory
