#pragma once
// Who may call what: the API key's decision for one request path. Pure; the server's request
// gate (request_gate.h) asks it and answers 401 when it says so.
#include <string>
#include <string_view>

#include "common/safety_settings.h"

namespace ebb::api {

struct AccessPolicy {
  std::string api_key;  // "" = no key: every route is open
  ApiKeyScope scope = ApiKeyScope::All;
  bool metrics_require_key = true;  // /metrics follows this, not `scope`
};

// Routes no key ever guards: `/`, `/api/version`, `/health` (liveness probes, client discovery).
bool is_open_path(std::string_view path);

// Routes that change models or memory: the admin routes (/api/memory, /gpu_status,
// /api/models/...) and the store's (pull, push, create, copy, delete, blobs).
bool is_admin_path(std::string_view path);

// Whether a request for `path` must carry the key.
bool key_required(const AccessPolicy& policy, std::string_view path);

// Whether an Authorization header value is "Bearer <key>". The key is compared in constant time
// (over the longer of the two lengths), so timing does not reveal how much of a guess was right.
bool bearer_matches(std::string_view authorization, std::string_view key);

enum class AccessDecision { Allow, MissingKey, WrongKey };
AccessDecision decide_access(const AccessPolicy& policy, std::string_view path, std::string_view authorization);

}  // namespace ebb::api
