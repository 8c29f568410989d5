#include "common/time_format.h"

#include <ctime>

namespace ebb {

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(ms));
  return out;
}

std::string format_expiry(std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (!deadline) return "2318-08-21T00:00:00.000Z";  // "never", far in the future like Ollama's
  auto wall = std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                     *deadline - std::chrono::steady_clock::now());
  return format_rfc3339(wall);
}

}  // namespace ebb
