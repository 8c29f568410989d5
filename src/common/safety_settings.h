#pragma once
// The settings that guard the HTTP API (API key, CORS origins, body limit, shutdown drain):
// their types and the parsers that flags, environment variables and the TOML file share.
// Parse errors throw std::invalid_argument with a message that names what was expected.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ebb {

// Which routes the API key guards: every one (but /, /api/version and /health), or only those
// that change models or memory.
enum class ApiKeyScope { All, Admin };
const char* to_string(ApiKeyScope scope);  // "all", "admin"
ApiKeyScope parse_api_key_scope(std::string_view text);

// An API key goes into an HTTP header: printable ASCII without spaces, at most 1024 bytes.
// Returns the key; the message never repeats it.
std::string checked_api_key(std::string_view key);

// "1", "true", "yes", "on" / "0", "false", "no", "off" (any case).
bool parse_bool_text(std::string_view text);

// A comma-separated list of origins ("https://a.example,http://b.example:*"); spaces and quotes
// around each are dropped, empty entries skipped. Each is "*" or "scheme://host[:port]", with at
// most one "*" wildcard.
std::vector<std::string> parse_origin_list(std::string_view text);
std::string checked_origin(std::string_view origin);

// The request body limit: at least one byte.
uint64_t checked_max_body(uint64_t bytes);

// The drain's limit: 0 (stop at once) or more.
std::chrono::milliseconds checked_shutdown_timeout(std::chrono::milliseconds t);

}  // namespace ebb
