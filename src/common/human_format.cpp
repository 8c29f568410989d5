#include "common/human_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace ebb {
namespace {

// Code points in a UTF-8 string (continuation bytes do not count).
size_t text_width(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

std::string human_number(uint64_t n) {
  constexpr double kThousand = 1e3, kMillion = 1e6, kBillion = 1e9;
  const auto v = static_cast<double>(n);
  if (v >= kBillion) {
    const double x = v / kBillion;
    return x == std::floor(x) ? fmt::format("{:.0f}B", x) : fmt::format("{:.1f}B", x);
  }
  if (v >= kMillion) {
    const double x = v / kMillion;
    return x == std::floor(x) ? fmt::format("{:.0f}M", x) : fmt::format("{:.2f}M", x);
  }
  if (v >= kThousand) return fmt::format("{:.0f}K", v / kThousand);
  return std::to_string(n);
}

std::string human_bytes(uint64_t bytes) {
  static constexpr std::pair<double, const char*> kUnits[] = {{1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "KB"}};
  const auto b = static_cast<double>(bytes);
  for (const auto& [size, unit] : kUnits) {
    if (b < size) continue;
    const double value = b / size;
    if (value >= 10 || value == std::trunc(value)) return fmt::format("{} {}", static_cast<int64_t>(value), unit);
    return fmt::format("{:.1f} {}", value, unit);
  }
  return fmt::format("{} B", bytes);
}

std::string human_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  const int64_t secs = duration_cast<seconds>(d).count();
  if (secs < 1) return "Less than a second";
  if (secs == 1) return "1 second";
  if (secs < 60) return fmt::format("{} seconds", secs);
  const int64_t minutes = duration_cast<std::chrono::minutes>(d).count();
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  const double exact_hours = duration<double, std::ratio<3600>>(d).count();
  const auto hours = static_cast<int64_t>(std::round(exact_hours));
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", static_cast<int64_t>(exact_hours) / 24 / 365);
}

std::string human_time(std::optional<std::chrono::system_clock::time_point> t,
                       std::chrono::system_clock::time_point now, std::string_view zero_value) {
  using namespace std::chrono;
  if (!t || t->time_since_epoch().count() == 0) return std::string(zero_value);
  // Compared in seconds, so that a clamped far-future time cannot overflow the subtraction.
  const int64_t delta_s =
      duration_cast<seconds>(now.time_since_epoch()).count() - duration_cast<seconds>(t->time_since_epoch()).count();
  constexpr int64_t kTwentyYears = 20LL * 365 * 24 * 3600;
  if (delta_s < -kTwentyYears) return "Forever";
  const auto delta = duration_cast<nanoseconds>(now - *t);
  if (delta.count() < 0) return human_duration(-delta) + " from now";
  return human_duration(delta) + " ago";
}

std::string go_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // The shortest digits in scientific form give the decimal exponent Go decides by.
  const auto sci_result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  if (sci_result.ec != std::errc()) return fmt::format("{}", value);
  const std::string sci(buf, sci_result.ptr);
  const int exp = std::stoi(sci.substr(sci.find('e') + 1));
  if (exp < -4 || exp >= 6) return sci;  // "8.030261248e+09", "1e-05": Go's form too
  const auto fixed = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

std::string render_table(const std::vector<std::vector<std::string>>& rows, std::string_view padding) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (row.size() > widths.size()) widths.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], text_width(row[c]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c > 0) line += padding;
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] - text_width(row[c]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace ebb
