#include "cli/serve_safety.h"

#include <cstdlib>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "api/cors.h"
#include "common/safety_settings.h"
#include "common/units.h"

namespace ebb::cli {
namespace {

// The flag's value, else the environment's (an empty variable counts as unset), else nothing.
std::optional<std::string> given(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  const char* v = std::getenv(env);
  if (v && *v) return std::string(v);
  return std::nullopt;
}

// Parses one setting, turning a parse error into one that names where it came from.
template <class Parse>
auto parsed(const std::string& flag_name, const char* env, const std::string& text, Parse&& parse,
            bool quote_value = true) {
  try {
    return parse(text);
  } catch (const std::invalid_argument& e) {
    const std::string value = quote_value ? fmt::format(" '{}'", text) : "";
    throw std::runtime_error(fmt::format("{} / {}{}: {}", flag_name, env, value, e.what()));
  }
}

}  // namespace

void add_safety_options(CLI::App* cmd, SafetyArgs& a) {
  cmd->add_option("--api-key", a.api_key,
                  "require 'Authorization: Bearer KEY' (env EBB_API_KEY; prefer the variable: flags show in ps)");
  cmd->add_option("--api-key-scope", a.api_key_scope,
                  "routes the key guards: all (default) or admin (model and memory changes) (env EBB_API_KEY_SCOPE)");
  cmd->add_option("--metrics-require-key", a.metrics_require_key,
                  "true (default) or false: whether /metrics needs the key (env EBB_METRICS_REQUIRE_KEY)");
  cmd->add_option("--origins", a.origins,
                  "comma-separated browser origins allowed besides localhost's, e.g. https://app.example.com "
                  "(env EBB_ORIGINS)");
  cmd->add_option("--max-body", a.max_body, "largest request body, e.g. 64MiB (default; env EBB_MAX_BODY)");
  cmd->add_option("--shutdown-timeout", a.shutdown_timeout,
                  "on SIGTERM/SIGINT, let running requests finish for this long, e.g. 10s (default; env "
                  "EBB_SHUTDOWN_TIMEOUT)");
}

SafetySettings resolve_safety_settings(const SafetyArgs& a, const ServerConfig& file) {
  SafetySettings out;
  api::AccessPolicy& access = out.gate.access;
  access.api_key = file.api_key;
  if (auto v = given(a.api_key, "EBB_API_KEY"))
    access.api_key = parsed("--api-key", "EBB_API_KEY", *v, checked_api_key, /*quote_value=*/false);
  access.scope = file.api_key_scope;
  if (auto v = given(a.api_key_scope, "EBB_API_KEY_SCOPE"))
    access.scope = parsed("--api-key-scope", "EBB_API_KEY_SCOPE", *v, parse_api_key_scope);
  access.metrics_require_key = file.metrics_require_key;
  if (auto v = given(a.metrics_require_key, "EBB_METRICS_REQUIRE_KEY"))
    access.metrics_require_key = parsed("--metrics-require-key", "EBB_METRICS_REQUIRE_KEY", *v, parse_bool_text);

  std::vector<std::string> origins = file.origins;
  if (auto v = given(a.origins, "EBB_ORIGINS")) origins = parsed("--origins", "EBB_ORIGINS", *v, parse_origin_list);
  out.gate.origins = api::allowed_origins(origins);

  out.gate.max_body = file.max_body;
  if (auto v = given(a.max_body, "EBB_MAX_BODY"))
    out.gate.max_body =
        parsed("--max-body", "EBB_MAX_BODY", *v, [](const std::string& t) { return checked_max_body(parse_bytes(t)); });
  out.shutdown_timeout = file.shutdown_timeout;
  if (auto v = given(a.shutdown_timeout, "EBB_SHUTDOWN_TIMEOUT"))
    out.shutdown_timeout = parsed("--shutdown-timeout", "EBB_SHUTDOWN_TIMEOUT", *v,
                                  [](const std::string& t) { return checked_shutdown_timeout(parse_duration(t)); });
  return out;
}

}  // namespace ebb::cli
