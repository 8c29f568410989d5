#pragma once
// Time as the memory manager sees it. Nothing in src/memory reads a clock: every function that
// needs the time takes `now`, so tests drive time by hand (TimePoint{} + 5min).
#include <chrono>

namespace ebb::memory {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

}  // namespace ebb::memory
