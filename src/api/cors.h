#pragma once
// Which browser origins may call the API, as Ollama decides it (its envconfig AllowedOrigins):
// http and https on localhost, 127.0.0.1 and 0.0.0.0 with any port, and the app shells' schemes,
// plus the operator's list (EBB_ORIGINS). Pure; the request gate answers with it.
#include <string>
#include <string_view>
#include <vector>

namespace ebb::api {

// The built-in patterns: "http://localhost", "http://localhost:*", ..., "app://*", "file://*",
// "tauri://*", "vscode-webview://*", "vscode-file://*".
std::vector<std::string> default_origins();

// `extra` (already checked, common/safety_settings.h) followed by the defaults.
std::vector<std::string> allowed_origins(const std::vector<std::string>& extra);

// Whether `origin` matches `pattern`: equal ignoring case, or with one "*" standing for any run
// of characters ("http://localhost:*" matches "http://localhost:3000"); "*" alone matches all.
bool origin_matches(std::string_view pattern, std::string_view origin);

bool origin_allowed(const std::vector<std::string>& patterns, std::string_view origin);

// A preflight's answer headers.
inline constexpr const char* kCorsAllowMethods = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS";
inline constexpr const char* kCorsAllowHeaders =
    "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, X-Stainless-Arch, "
    "X-Stainless-Async, X-Stainless-Custom-Poll-Interval, X-Stainless-Helper-Method, X-Stainless-Lang, "
    "X-Stainless-OS, X-Stainless-Package-Version, X-Stainless-Poll-Helper, X-Stainless-Retry-Count, "
    "X-Stainless-Runtime, X-Stainless-Runtime-Version, X-Stainless-Timeout";
inline constexpr const char* kCorsMaxAge = "43200";  // 12 h: browsers cache a preflight this long

}  // namespace ebb::api
