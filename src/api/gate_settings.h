#pragma once
// What the request gate (request_gate.h) enforces: the API key's policy, the allowed CORS
// origins and the body limit.
#include <cstdint>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/cors.h"

namespace ebb::api {

struct GateSettings {
  AccessPolicy access;
  std::vector<std::string> origins = default_origins();  // allowed_origins(): the operator's and the defaults
  uint64_t max_body = 64ull << 20;
};

}  // namespace ebb::api
