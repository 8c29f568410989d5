#pragma once
// ebb's TOML configuration (see docs "Configuration (TOML)"). Every key is checked: a typo or a
// bad value is a ConfigError naming the file, line, key and value, never a silent default.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/safety_settings.h"
#include "common/units.h"

namespace ebb {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HostPort {
  std::string host = "127.0.0.1";
  uint16_t port = 11434;  // 0 = an ephemeral port

  std::string to_string() const;  // "127.0.0.1:11434", "[::1]:8080"
  bool operator==(const HostPort&) const = default;
};

// "host:port", ":port", "port", "host", "[::1]:port", "[::1]", also with an "http://" prefix
// (as OLLAMA_HOST allows). Missing host → 127.0.0.1, missing port → 11434. The port must be
// 0..65535 (0 = ephemeral). Throws std::invalid_argument.
HostPort parse_host_port(std::string_view text);

enum class ModelPolicy { Resident, OnDemand, KeepAlive };
const char* to_string(ModelPolicy policy);  // "resident", "on_demand", "keep_alive"
std::optional<ModelPolicy> parse_model_policy(std::string_view text);

struct ModelConfig {
  std::string name;
  std::string path;  // as written: absolute, or relative to the models directory
  ModelPolicy policy = ModelPolicy::KeepAlive;
  uint32_t num_ctx = 4096;  // per slot; capped at the GGUF's context length by the loader
  uint32_t num_parallel = 1;
  uint32_t num_batch = 512;
  uint32_t num_thread = 0;              // 0 = auto
  std::string kv_cache_type = "f16";    // f16 | q8_0 | q4_0
  std::optional<bool> flash_attn;       // unset = llama.cpp's auto
  std::optional<KeepAlive> keep_alive;  // unset = [memory] keep_alive
};

struct ServerConfig {
  HostPort host;
  std::string models;             // models directory, "" = not set; load_config_file makes a relative one
                                  // relative to the config file's directory
  bool models_read_only = false;  // pull, create, copy, delete and push's writes are refused
  // A runner with requests in flight that sends nothing (no token, no finished batch) for this
  // long is killed and its requests fail. 0: never. Otherwise at least 1 s.
  std::chrono::milliseconds runner_timeout = std::chrono::seconds(60);
  // Clients send `Authorization: Bearer <api_key>` ("" = no key) on the routes api_key_scope names.
  std::string api_key;
  ApiKeyScope api_key_scope = ApiKeyScope::All;
  bool metrics_require_key = true;   // /metrics asks for the key too (when one is set)
  std::vector<std::string> origins;  // CORS origins allowed besides the local defaults
  uint64_t max_body = 64ull << 20;   // request bodies beyond this are a 413 (blob uploads excepted)
  // On SIGTERM/SIGINT, running requests may finish for this long before runners are stopped.
  std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(10);
};

// runner_timeout's rule: 0 or at least 1 s. Throws std::invalid_argument.
std::chrono::milliseconds checked_runner_timeout(std::chrono::milliseconds t);

struct MemoryConfig {
  Headroom headroom{true, 20};
  std::chrono::milliseconds kv_idle = std::chrono::minutes(5);
  KeepAlive keep_alive = KeepAlive::after(std::chrono::minutes(15));
  std::chrono::milliseconds host_keep = std::chrono::hours(1);
  Headroom host_budget{true, 50};         // of RAM
  Headroom snapshot_budget{true, 10};     // of RAM, counted inside host_budget
  std::optional<uint64_t> device_memory;  // emulated device total
  // Requests that wait for busy models to free device memory: at most this many, this long each.
  std::chrono::milliseconds queue_timeout = std::chrono::seconds(60);
  uint32_t queue_capacity = 64;
  std::string kv_disk;  // spill KV snapshots to this directory (empty: off)
  uint64_t kv_disk_budget = 16ull << 30;
};

struct Config {
  std::string source;  // the file it came from, or parse_config_string's source_name
  ServerConfig server;
  MemoryConfig memory;
  std::vector<ModelConfig> models;

  const ModelConfig* find_model(std::string_view name) const;
};

// `source_name` only labels error messages ("ebb.toml:12: ...").
Config parse_config_string(std::string_view text, const std::string& source_name = "<config>");
Config load_config_file(const std::string& path);

// The model's file: its path if absolute, else under `models_dir`.
std::filesystem::path resolve_model_path(const ModelConfig& model, const std::filesystem::path& models_dir);

}  // namespace ebb
