#include "common/safety_settings.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

namespace ebb {
namespace {

std::string lower(std::string_view text) {
  std::string s(text);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string_view trim(std::string_view s, std::string_view chars = " \t\"'") {
  while (!s.empty() && chars.find(s.front()) != std::string_view::npos) s.remove_prefix(1);
  while (!s.empty() && chars.find(s.back()) != std::string_view::npos) s.remove_suffix(1);
  return s;
}

}  // namespace

const char* to_string(ApiKeyScope scope) { return scope == ApiKeyScope::Admin ? "admin" : "all"; }

ApiKeyScope parse_api_key_scope(std::string_view text) {
  const std::string s = lower(trim(text, " \t"));
  if (s == "all") return ApiKeyScope::All;
  if (s == "admin") return ApiKeyScope::Admin;
  throw std::invalid_argument(fmt::format("expected all or admin, got '{}'", text));
}

std::string checked_api_key(std::string_view key) {
  if (key.empty()) throw std::invalid_argument("the API key must not be empty");
  if (key.size() > 1024) throw std::invalid_argument("the API key is longer than 1024 bytes");
  const bool printable = std::all_of(key.begin(), key.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
  if (!printable) throw std::invalid_argument("the API key must be printable ASCII without spaces");
  return std::string(key);
}

bool parse_bool_text(std::string_view text) {
  const std::string s = lower(trim(text, " \t"));
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return false;
  throw std::invalid_argument(fmt::format("expected true or false, got '{}'", text));
}

std::string checked_origin(std::string_view origin) {
  if (origin == "*") return "*";
  const size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0 || scheme_end + 3 == origin.size())
    throw std::invalid_argument(fmt::format("origin '{}' is not scheme://host[:port] (or *)", origin));
  if (std::count(origin.begin(), origin.end(), '*') > 1)
    throw std::invalid_argument(fmt::format("origin '{}' has more than one '*'", origin));
  if (origin.find_first_of(" \t/?#", scheme_end + 3) != std::string_view::npos)
    throw std::invalid_argument(
        fmt::format("origin '{}' has a path or a space (an origin is scheme://host[:port])", origin));
  return lower(origin);
}

std::vector<std::string> parse_origin_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    if (!item.empty()) out.push_back(checked_origin(item));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

uint64_t checked_max_body(uint64_t bytes) {
  if (bytes == 0) throw std::invalid_argument("must be at least 1 byte");
  return bytes;
}

std::chrono::milliseconds checked_shutdown_timeout(std::chrono::milliseconds t) {
  if (t.count() < 0) throw std::invalid_argument("must not be negative");
  return t;
}

}  // namespace ebb
