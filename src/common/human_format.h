#pragma once
// Numbers, sizes, times and tables as Ollama's CLI prints them (`ollama list`, `ps`, `show`), for
// ebb's client commands.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ebb {

// Parameter counts: "494.03M", "7.6B", "8B", "135K", "999" (Ollama's format.HumanNumber: two
// decimals for millions, one for billions, none when whole).
std::string human_number(uint64_t n);

// Decimal sizes: "397 MB", "4.7 GB", "1 GB", "512 B" (Ollama's format.HumanBytes: no decimal from
// 10 up, one below unless whole).
std::string human_bytes(uint64_t bytes);

// "Less than a second", "1 second", "5 seconds", "About a minute", "12 minutes", "About an hour",
// "5 hours", "3 days", "2 weeks", "4 months", "2 years" (Ollama's humanDuration).
std::string human_duration(std::chrono::nanoseconds d);

// "3 minutes ago", "4 minutes from now"; "Forever" for more than 20 years ahead; `zero_value`
// (e.g. "Never") when there is no time.
std::string human_time(std::optional<std::chrono::system_clock::time_point> t,
                       std::chrono::system_clock::time_point now, std::string_view zero_value);

// A number as Go's %g prints a float64 (shortest digits; an exponent below 1e-4 and from 1e6 up):
// "4096", "1e-05", "0.5", "8.030261248e+09".
std::string go_number(double value);

// Left-aligned columns separated by `padding`, each as wide as its widest cell (counted in UTF-8
// code points); one line per row, trailing blanks trimmed. A row may have fewer cells than others.
std::string render_table(const std::vector<std::vector<std::string>>& rows, std::string_view padding = "    ");

}  // namespace ebb
