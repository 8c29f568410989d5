#pragma once
// `ebb serve`'s API guards from flag, environment and config file (in that order): the API key
// and its scope, CORS origins, the body limit and the shutdown drain's timeout.
#include <chrono>
#include <string>

#include <CLI/CLI.hpp>

#include "api/gate_settings.h"
#include "common/config.h"

namespace ebb::cli {

struct SafetyArgs {
  std::string api_key, api_key_scope, metrics_require_key, origins, max_body, shutdown_timeout;
};

void add_safety_options(CLI::App* cmd, SafetyArgs& args);

struct SafetySettings {
  api::GateSettings gate;
  std::chrono::milliseconds shutdown_timeout{};
};

// Throws std::runtime_error naming the flag and variable and what was wrong.
SafetySettings resolve_safety_settings(const SafetyArgs& args, const ServerConfig& file);

}  // namespace ebb::cli
