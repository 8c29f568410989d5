#pragma once
// Byte sizes, percentages and durations as operators write them ("2GiB", "20%", "1h30m"),
// and Ollama's keep_alive semantics. Parse errors throw std::invalid_argument.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace ebb {

// "2GiB", "512MiB", "64M", "1.5G" (binary: K/M/G/T, KiB..TiB), "8GB" (decimal: KB..TB),
// "1048576" or "100B" (bytes). Case-insensitive, optional space before the unit.
uint64_t parse_bytes(std::string_view text);

// "1.5 GiB", "512 MiB", "100 B": binary units, at most two decimals.
std::string format_bytes(uint64_t bytes);

// A byte size or a percentage of some total ("20%" or "2GiB"). Used for the device headroom and
// for the host and snapshot budgets.
struct Headroom {
  bool percent = true;
  double value = 0;  // percent in [0, 100], or bytes

  uint64_t bytes_of(uint64_t total) const;
  std::string to_string() const;  // "20%" or "2 GiB"
  bool operator==(const Headroom&) const = default;
};
Headroom parse_headroom(std::string_view text);

// Go-style durations: "300ms", "10s", "5m", "1h30m", "1.5h", "-1m"; units ns, us (µs), ms, s,
// m, h. A plain number means seconds ("300", "1.5"). Sub-millisecond remainders are truncated.
std::chrono::milliseconds parse_duration(std::string_view text);

// Compact and parseable by parse_duration: "1h30m", "5m", "1.5s", "300ms", "0s", "-1m".
std::string format_duration(std::chrono::milliseconds d);

// Ollama's keep_alive: how long a model stays loaded after its last request.
struct KeepAlive {
  enum class Kind { Duration, Forever };
  Kind kind = Kind::Duration;
  std::chrono::milliseconds duration{0};  // meaningful when kind == Duration; never negative

  static KeepAlive forever() { return {Kind::Forever, {}}; }
  static KeepAlive after(std::chrono::milliseconds d) { return {Kind::Duration, d}; }

  bool is_forever() const { return kind == Kind::Forever; }
  bool is_zero() const { return kind == Kind::Duration && duration.count() == 0; }  // unload now
  std::string to_string() const;                                                    // "forever" or format_duration()
  bool operator==(const KeepAlive&) const = default;
};

// A JSON number is seconds (may be fractional); a string is a duration as parse_duration reads
// it. Negative means forever, 0 means unload right after the request. Any other JSON type,
// null included, throws std::invalid_argument: callers treat an absent/null field as "default".
KeepAlive parse_keep_alive(const nlohmann::json& value);
// The same for text (config files, environment variables): "5m", "-1", "0", "300".
KeepAlive parse_keep_alive_text(std::string_view text);

}  // namespace ebb
