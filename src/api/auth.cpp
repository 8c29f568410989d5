#include "api/auth.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace ebb::api {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool equal_constant_time(std::string_view a, std::string_view b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  // volatile: keeps the compiler from turning the loop into an early-exit comparison.
  volatile unsigned char result = diff;
  return result == 0;
}

}  // namespace

bool is_open_path(std::string_view path) { return path == "/" || path == "/api/version" || path == "/health"; }

bool is_admin_path(std::string_view path) {
  static constexpr std::array<std::string_view, 9> kExact = {"/api/memory", "/gpu_status", "/api/pull",
                                                             "/api/push",   "/api/create", "/api/copy",
                                                             "/api/delete", "/api/blobs",  "/api/models"};
  if (std::find(kExact.begin(), kExact.end(), path) != kExact.end()) return true;
  return starts_with(path, "/api/models/") || starts_with(path, "/api/blobs/");
}

bool key_required(const AccessPolicy& policy, std::string_view path) {
  if (policy.api_key.empty() || is_open_path(path)) return false;
  if (path == "/metrics") return policy.metrics_require_key;
  return policy.scope == ApiKeyScope::All || is_admin_path(path);
}

bool bearer_matches(std::string_view authorization, std::string_view key) {
  // The scheme is case-insensitive (RFC 9110); one or more spaces follow it.
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return false;
  std::string_view token = authorization.substr(kScheme.size());
  if (token.front() != ' ') return false;
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return !key.empty() && equal_constant_time(token, key);
}

AccessDecision decide_access(const AccessPolicy& policy, std::string_view path, std::string_view authorization) {
  if (!key_required(policy, path)) return AccessDecision::Allow;
  if (authorization.empty()) return AccessDecision::MissingKey;
  return bearer_matches(authorization, policy.api_key) ? AccessDecision::Allow : AccessDecision::WrongKey;
}

}  // namespace ebb::api
