#pragma once
// RFC 3339 timestamps for API fields such as expires_at, from steady-clock deadlines.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ebb {

// Wall-clock time of a steady-clock instant, as "2026-11-26T18:00:00.123Z".
std::string format_rfc3339(std::chrono::system_clock::time_point t);
// "2026-11-26T18:07:02.825Z", "2024-05-01T10:00:00.123456-07:00" (fraction optional; Z or an
// offset) → the instant; nullopt when the text is not such a time.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);
// A steady deadline as RFC 3339; nullopt (forever / busy) gives a far-future time, as Ollama does.
std::string format_expiry(std::optional<std::chrono::steady_clock::time_point> deadline);

}  // namespace ebb
