#include "common/units.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ebb {
namespace {

using std::chrono::milliseconds;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// An unsigned decimal "123", "1.5", ".5" or "2." kept exactly: integer digits and fraction digits.
struct Decimal {
  unsigned __int128 whole = 0;
  uint64_t fraction = 0;        // the first `fraction_digits` digits after the point
  uint64_t fraction_scale = 1;  // 10^fraction_digits
  bool has_fraction() const { return fraction != 0; }
};

// Consumes a decimal at the start of `s`; returns false when there is none.
bool take_decimal(std::string_view& s, Decimal& out) {
  size_t i = 0;
  bool any_digit = false;
  constexpr unsigned __int128 kWholeLimit = static_cast<unsigned __int128>(1) << 100;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    any_digit = true;
    if (out.whole < kWholeLimit)
      out.whole = out.whole * 10 + static_cast<unsigned>(s[i] - '0');
    else
      throw std::invalid_argument(fmt::format("number '{}' is too large", s));
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      any_digit = true;
      if (out.fraction_scale < 1'000'000'000'000'000'000ULL) {  // 18 digits is plenty
        out.fraction = out.fraction * 10 + static_cast<unsigned>(s[i] - '0');
        out.fraction_scale *= 10;
      }
    }
  }
  if (!any_digit) return false;
  s.remove_prefix(i);
  return true;
}

// value * unit, truncated toward zero; throws when the result exceeds `limit`.
unsigned __int128 scale(const Decimal& d, uint64_t unit, unsigned __int128 limit, std::string_view text) {
  const unsigned __int128 whole_part = d.whole * unit;
  if (d.whole != 0 && (whole_part / unit != d.whole || whole_part > limit)) {
    throw std::invalid_argument(fmt::format("'{}' is too large", text));
  }
  const unsigned __int128 frac_part = static_cast<unsigned __int128>(d.fraction) * unit / d.fraction_scale;
  if (whole_part + frac_part > limit) throw std::invalid_argument(fmt::format("'{}' is too large", text));
  return whole_part + frac_part;
}

uint64_t byte_unit(const std::string& unit) {
  static constexpr std::pair<const char*, uint64_t> kUnits[] = {
      {"", 1},
      {"b", 1},
      {"k", 1ULL << 10},
      {"ki", 1ULL << 10},
      {"kib", 1ULL << 10},
      {"kb", 1000ULL},
      {"m", 1ULL << 20},
      {"mi", 1ULL << 20},
      {"mib", 1ULL << 20},
      {"mb", 1000'000ULL},
      {"g", 1ULL << 30},
      {"gi", 1ULL << 30},
      {"gib", 1ULL << 30},
      {"gb", 1000'000'000ULL},
      {"t", 1ULL << 40},
      {"ti", 1ULL << 40},
      {"tib", 1ULL << 40},
      {"tb", 1000'000'000'000ULL},
      {"p", 1ULL << 50},
      {"pi", 1ULL << 50},
      {"pib", 1ULL << 50},
      {"pb", 1000'000'000'000'000ULL},
  };
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) return factor;
  }
  return 0;
}

// Go's duration units in nanoseconds; 0 for an unknown unit.
uint64_t duration_unit(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;  // µs, μs
  if (unit == "ms") return 1000'000;
  if (unit == "s") return 1000'000'000ULL;
  if (unit == "m") return 60ULL * 1000'000'000ULL;
  if (unit == "h") return 3600ULL * 1000'000'000ULL;
  return 0;
}

// Formats `value` with at most `max_decimals` decimals, trailing zeros trimmed.
std::string format_fixed(double value, int max_decimals) {
  std::string s = fmt::format("{:.{}f}", value, max_decimals);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

}  // namespace

uint64_t parse_bytes(std::string_view text) {
  const std::string_view s = trim(text);
  if (s.empty()) throw std::invalid_argument("empty byte size");
  if (s.front() == '-') throw std::invalid_argument(fmt::format("byte size '{}' is negative", s));
  std::string_view rest = s;
  if (!rest.empty() && rest.front() == '+') rest.remove_prefix(1);
  Decimal number;
  if (!take_decimal(rest, number)) {
    throw std::invalid_argument(fmt::format("'{}' is not a byte size (expected e.g. 1048576, 512MiB, 8GB or 1.5G)", s));
  }
  const uint64_t unit = byte_unit(lower(trim(rest)));
  if (unit == 0) {
    throw std::invalid_argument(fmt::format(
        "'{}' has an unknown size unit '{}' (use B, K/KiB, M/MiB, G/GiB, T/TiB or KB, MB, GB, TB)", s, trim(rest)));
  }
  return static_cast<uint64_t>(scale(number, unit, std::numeric_limits<uint64_t>::max(), s));
}

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return fmt::format("{} B", bytes);
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  // 1023.999 MiB would print as "1024 MiB": move up one unit instead.
  if (std::round(value * 100) / 100 >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{} {}", format_fixed(value, 2), kUnits[unit]);
}

uint64_t Headroom::bytes_of(uint64_t total) const {
  if (!percent) return static_cast<uint64_t>(value);
  const long double bytes = static_cast<long double>(total) * value / 100.0L;
  return static_cast<uint64_t>(bytes);
}

std::string Headroom::to_string() const {
  if (percent) return format_fixed(value, 4) + "%";
  return format_bytes(static_cast<uint64_t>(value));
}

Headroom parse_headroom(std::string_view text) {
  const std::string_view s = trim(text);
  if (s.empty()) throw std::invalid_argument("empty size (expected a percentage like 20% or a size like 2GiB)");
  if (s.back() != '%') return Headroom{false, static_cast<double>(parse_bytes(s))};

  std::string_view rest = trim(s.substr(0, s.size() - 1));
  Decimal number;
  if (rest.empty() || rest.front() == '-' || !take_decimal(rest, number) || !rest.empty()) {
    throw std::invalid_argument(fmt::format("'{}' is not a percentage (expected e.g. 20%)", s));
  }
  const double percent = static_cast<double>(number.whole) +
                         static_cast<double>(number.fraction) / static_cast<double>(number.fraction_scale);
  if (percent > 100) throw std::invalid_argument(fmt::format("'{}' is more than 100%", s));
  return Headroom{true, percent};
}

milliseconds parse_duration(std::string_view text) {
  const std::string_view s = trim(text);
  if (s.empty()) throw std::invalid_argument("empty duration");
  std::string_view rest = s;
  bool negative = false;
  if (rest.front() == '-' || rest.front() == '+') {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  const auto bad = [&] {
    return std::invalid_argument(
        fmt::format("'{}' is not a duration (expected e.g. 300ms, 10s, 5m, 1h30m, or a number of seconds)", s));
  };
  // Milliseconds must fit in int64: the limit in nanoseconds.
  const unsigned __int128 limit = static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max()) * 1000'000;

  unsigned __int128 total_ns = 0;
  Decimal number;
  if (!take_decimal(rest, number)) throw bad();
  if (rest.empty()) {  // a plain number: seconds
    total_ns = scale(number, duration_unit("s"), limit, s);
  } else {
    while (true) {
      size_t unit_len = 0;
      while (unit_len < rest.size() && rest[unit_len] != '.' && !is_digit(rest[unit_len])) ++unit_len;
      const uint64_t unit = duration_unit(rest.substr(0, unit_len));
      if (unit == 0) {
        if (unit_len == 0) throw bad();
        throw std::invalid_argument(fmt::format("'{}' has an unknown duration unit '{}' (use ns, us, ms, s, m, h)", s,
                                                rest.substr(0, unit_len)));
      }
      rest.remove_prefix(unit_len);
      total_ns += scale(number, unit, limit, s);
      if (total_ns > limit) throw std::invalid_argument(fmt::format("duration '{}' is too large", s));
      if (rest.empty()) break;
      number = Decimal{};
      if (!take_decimal(rest, number) || rest.empty()) throw bad();  // "1h30" lacks a unit
    }
  }
  const auto ms = static_cast<int64_t>(total_ns / 1000'000);
  return milliseconds(negative ? -ms : ms);
}

std::string format_duration(milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms < 0) {
    if (ms == std::numeric_limits<int64_t>::min()) ++ms;  // keep the negation defined
    return "-" + format_duration(milliseconds(-ms));
  }
  const int64_t hours = ms / 3'600'000;
  const int64_t minutes = ms / 60'000 % 60;
  const int64_t seconds = ms / 1000 % 60;
  const int64_t millis = ms % 1000;
  std::string out;
  if (hours) out += fmt::format("{}h", hours);
  if (minutes) out += fmt::format("{}m", minutes);
  if (seconds || millis) {
    if (out.empty() && seconds == 0) {
      out += fmt::format("{}ms", millis);
    } else if (millis == 0) {
      out += fmt::format("{}s", seconds);
    } else {
      std::string frac = fmt::format("{:03}", millis);
      while (frac.back() == '0') frac.pop_back();
      out += fmt::format("{}.{}s", seconds, frac);
    }
  }
  return out;
}

std::string KeepAlive::to_string() const { return is_forever() ? "forever" : format_duration(duration); }

KeepAlive parse_keep_alive_text(std::string_view text) {
  const milliseconds d = parse_duration(text);
  return d.count() < 0 ? KeepAlive::forever() : KeepAlive::after(d);
}

KeepAlive parse_keep_alive(const nlohmann::json& value) {
  if (value.is_string()) {
    try {
      return parse_keep_alive_text(value.get_ref<const std::string&>());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("keep_alive: {}", e.what()));
    }
  }
  if (value.is_number_unsigned()) {
    const auto seconds = value.get<uint64_t>();
    if (seconds > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 1000)) return KeepAlive::forever();
    return KeepAlive::after(milliseconds(static_cast<int64_t>(seconds) * 1000));
  }
  if (value.is_number_integer()) {
    const auto seconds = value.get<int64_t>();
    if (seconds < 0) return KeepAlive::forever();
    return KeepAlive::after(milliseconds(seconds * 1000));  // small: unsigned case handles large
  }
  if (value.is_number_float()) {
    const double seconds = value.get<double>();
    if (std::isnan(seconds)) throw std::invalid_argument("keep_alive: NaN is not a duration");
    if (seconds < 0) return KeepAlive::forever();
    const double ms = seconds * 1000.0;
    if (ms >= 9.2e18) return KeepAlive::forever();  // longer than int64 milliseconds can say
    return KeepAlive::after(milliseconds(static_cast<int64_t>(ms)));
  }
  throw std::invalid_argument(fmt::format(
      "keep_alive must be a number of seconds or a duration string like \"5m\", got {}", value.type_name()));
}

}  // namespace ebb
