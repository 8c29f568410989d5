#include "common/config.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

namespace ebb {
namespace {

using std::chrono::milliseconds;

constexpr uint16_t kDefaultPort = 11434;
constexpr const char* kDefaultHost = "127.0.0.1";
constexpr const char* kKvCacheTypes[] = {"f16", "q8_0", "q4_0"};

const char* toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::string describe(const toml::node& node) {
  if (const auto* s = node.as_string()) return fmt::format("'{}'", s->get());
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) return fmt::format("{}", f->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  return toml_type_name(node);
}

// Walks the parsed document and turns every problem into "<file>:<line>: <key>: <message>".
class ConfigReader {
 public:
  explicit ConfigReader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const toml::node& node, std::string_view key, std::string_view message) const {
    const auto line = node.source().begin.line;
    if (line > 0) throw ConfigError(fmt::format("{}:{}: {}: {}", source_, line, key, message));
    throw ConfigError(fmt::format("{}: {}: {}", source_, key, message));
  }

  // Rejects keys of `table` outside `allowed`.
  void check_keys(const toml::table& table, std::string_view where, std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      const std::string path = where.empty() ? std::string(key.str()) : fmt::format("{}.{}", where, key.str());
      fail(node, path, fmt::format("unknown key (expected one of: {})", list));
    }
  }

  std::string string(const toml::node& node, std::string_view key) {
    const auto* s = node.as_string();
    if (!s) fail(node, key, fmt::format("expected a string, got {}", toml_type_name(node)));
    return s->get();
  }

  bool boolean(const toml::node& node, std::string_view key) {
    const auto* b = node.as_boolean();
    if (!b) fail(node, key, fmt::format("expected true or false, got {}", describe(node)));
    return b->get();
  }

  uint32_t integer(const toml::node& node, std::string_view key, int64_t min, int64_t max) {
    const auto* i = node.as_integer();
    if (!i || i->get() < min || i->get() > max) {
      fail(node, key, fmt::format("expected an integer in {}..{}, got {}", min, max, describe(node)));
    }
    return static_cast<uint32_t>(i->get());
  }

  // Durations are strings ("5m") or numbers of seconds. Negative ones are refused.
  milliseconds duration(const toml::node& node, std::string_view key) {
    milliseconds d{};
    if (const auto* i = node.as_integer()) {
      if (i->get() < 0 || i->get() > std::numeric_limits<int64_t>::max() / 1000) {
        fail(node, key, fmt::format("expected a non-negative duration, got {}", describe(node)));
      }
      d = milliseconds(i->get() * 1000);
    } else {
      const std::string text = string_or(node, key, "a duration like \"5m\" or \"1h30m\"");
      try {
        d = parse_duration(text);
      } catch (const std::invalid_argument& e) {
        fail(node, key, e.what());
      }
      if (d.count() < 0) fail(node, key, fmt::format("must not be negative, got '{}'", text));
    }
    return d;
  }

  // Strings are durations, numbers are seconds; negative means forever.
  KeepAlive keep_alive(const toml::node& node, std::string_view key) {
    try {
      if (const auto* s = node.as_string()) return parse_keep_alive_text(s->get());
      if (const auto* i = node.as_integer()) return parse_keep_alive(nlohmann::json(i->get()));
      if (const auto* f = node.as_floating_point()) return parse_keep_alive(nlohmann::json(f->get()));
    } catch (const std::invalid_argument& e) {
      fail(node, key, e.what());
    }
    fail(node, key, fmt::format("expected a duration like \"15m\" or \"-1\", got {}", toml_type_name(node)));
  }

  Headroom size_or_percent(const toml::node& node, std::string_view key) {
    if (const auto* i = node.as_integer()) {
      if (i->get() < 0) fail(node, key, fmt::format("expected a size or percentage, got {}", i->get()));
      return Headroom{false, static_cast<double>(i->get())};
    }
    const std::string text = string_or(node, key, "a percentage like \"20%\" or a size like \"2GiB\"");
    try {
      return parse_headroom(text);
    } catch (const std::invalid_argument& e) {
      fail(node, key, e.what());
    }
  }

  uint64_t bytes(const toml::node& node, std::string_view key) {
    uint64_t value = 0;
    if (const auto* i = node.as_integer()) {
      if (i->get() < 0) fail(node, key, fmt::format("expected a size, got {}", i->get()));
      value = static_cast<uint64_t>(i->get());
    } else {
      const std::string text = string_or(node, key, "a size like \"8GiB\"");
      try {
        value = parse_bytes(text);
      } catch (const std::invalid_argument& e) {
        fail(node, key, e.what());
      }
    }
    return value;
  }

  HostPort host_port(const toml::node& node, std::string_view key) {
    if (const auto* i = node.as_integer()) {
      if (i->get() < 0 || i->get() > 65535) fail(node, key, fmt::format("port {} is out of range 0..65535", i->get()));
      return HostPort{kDefaultHost, static_cast<uint16_t>(i->get())};
    }
    const std::string text = string_or(node, key, "\"host:port\"");
    try {
      return parse_host_port(text);
    } catch (const std::invalid_argument& e) {
      fail(node, key, e.what());
    }
  }

  void read_server(const toml::node& node, ServerConfig& server) {
    const toml::table& t = table(node, "server");
    check_keys(t, "server",
               {"host", "models", "models_read_only", "runner_timeout", "api_key", "api_key_scope",
                "metrics_require_key", "origins", "max_body", "shutdown_timeout"});
    if (const auto* n = t.get("host")) server.host = host_port(*n, "server.host");
    if (const auto* n = t.get("models")) {
      server.models = string(*n, "server.models");
      if (server.models.empty()) fail(*n, "server.models", "must not be empty");
    }
    if (const auto* n = t.get("models_read_only")) server.models_read_only = boolean(*n, "server.models_read_only");
    if (const auto* n = t.get("runner_timeout")) {
      try {
        server.runner_timeout = checked_runner_timeout(duration(*n, "server.runner_timeout"));
      } catch (const std::invalid_argument& e) {
        fail(*n, "server.runner_timeout", e.what());
      }
    }
    read_server_safety(t, server);
  }

  // The API's guards: key, CORS origins, body limit, shutdown drain.
  void read_server_safety(const toml::table& t, ServerConfig& server) {
    const auto checked = [&](const toml::node& n, std::string_view key, auto&& check) {
      try {
        return check();
      } catch (const std::invalid_argument& e) {
        fail(n, key, e.what());
      }
    };
    if (const auto* n = t.get("api_key")) {
      const std::string key = string(*n, "server.api_key");
      server.api_key = checked(*n, "server.api_key", [&] { return checked_api_key(key); });
    }
    if (const auto* n = t.get("api_key_scope")) {
      const std::string text = string(*n, "server.api_key_scope");
      server.api_key_scope = checked(*n, "server.api_key_scope", [&] { return parse_api_key_scope(text); });
    }
    if (const auto* n = t.get("metrics_require_key"))
      server.metrics_require_key = boolean(*n, "server.metrics_require_key");
    if (const auto* n = t.get("origins")) server.origins = origins(*n, "server.origins");
    if (const auto* n = t.get("max_body")) {
      const uint64_t size = bytes(*n, "server.max_body");
      server.max_body = checked(*n, "server.max_body", [&] { return checked_max_body(size); });
    }
    if (const auto* n = t.get("shutdown_timeout")) server.shutdown_timeout = duration(*n, "server.shutdown_timeout");
  }

  // A comma-separated string or an array of strings.
  std::vector<std::string> origins(const toml::node& node, std::string_view key) {
    try {
      if (const auto* s = node.as_string()) return parse_origin_list(s->get());
      if (const auto* a = node.as_array()) {
        std::vector<std::string> out;
        for (const auto& item : *a) out.push_back(checked_origin(string(item, key)));
        return out;
      }
    } catch (const std::invalid_argument& e) {
      fail(node, key, e.what());
    }
    fail(
        node, key,
        fmt::format("expected \"https://a.example,https://b.example\" or an array of origins, got {}", describe(node)));
  }

  void read_memory(const toml::node& node, MemoryConfig& memory) {
    const toml::table& t = table(node, "memory");
    check_keys(t, "memory",
               {"headroom", "kv_idle", "keep_alive", "host_keep", "host_budget", "snapshot_budget", "device_memory",
                "queue_timeout", "queue_capacity", "kv_disk", "kv_disk_budget"});
    if (const auto* n = t.get("headroom")) memory.headroom = size_or_percent(*n, "memory.headroom");
    if (const auto* n = t.get("kv_idle")) memory.kv_idle = duration(*n, "memory.kv_idle");
    if (const auto* n = t.get("keep_alive")) memory.keep_alive = keep_alive(*n, "memory.keep_alive");
    if (const auto* n = t.get("host_keep")) memory.host_keep = duration(*n, "memory.host_keep");
    if (const auto* n = t.get("host_budget")) memory.host_budget = size_or_percent(*n, "memory.host_budget");
    if (const auto* n = t.get("snapshot_budget")) {
      memory.snapshot_budget = size_or_percent(*n, "memory.snapshot_budget");
    }
    if (const auto* n = t.get("device_memory")) {
      memory.device_memory = bytes(*n, "memory.device_memory");
      if (*memory.device_memory == 0) fail(*n, "memory.device_memory", "must be more than 0 bytes");
    }
    if (const auto* n = t.get("queue_timeout")) memory.queue_timeout = duration(*n, "memory.queue_timeout");
    if (const auto* n = t.get("queue_capacity"))
      memory.queue_capacity = integer(*n, "memory.queue_capacity", 0, 1 << 20);
    if (const auto* n = t.get("kv_disk")) memory.kv_disk = string(*n, "memory.kv_disk");
    if (const auto* n = t.get("kv_disk_budget")) memory.kv_disk_budget = bytes(*n, "memory.kv_disk_budget");
  }

  ModelConfig read_model(const toml::node& node, size_t index) {
    const std::string where = fmt::format("model[{}]", index);
    const toml::table& t = table(node, where);
    check_keys(t, where,
               {"name", "path", "policy", "num_ctx", "num_parallel", "num_batch", "num_thread", "kv_cache_type",
                "flash_attn", "keep_alive"});
    const auto key = [&](std::string_view k) { return fmt::format("{}.{}", where, k); };
    ModelConfig m;

    const auto* name = t.get("name");
    if (!name) fail(node, key("name"), "missing (every [[model]] needs a name)");
    m.name = string(*name, key("name"));
    if (m.name.empty() ||
        std::any_of(m.name.begin(), m.name.end(), [](unsigned char c) { return std::isspace(c) || std::iscntrl(c); })) {
      fail(*name, key("name"), fmt::format("'{}' is not a valid model name (non-empty, no spaces)", m.name));
    }

    const auto* path = t.get("path");
    if (!path) fail(node, key("path"), "missing (the GGUF file, absolute or relative to the models directory)");
    m.path = string(*path, key("path"));
    if (m.path.empty()) fail(*path, key("path"), "must not be empty");

    if (const auto* n = t.get("policy")) {
      const std::string text = string(*n, key("policy"));
      const auto policy = parse_model_policy(text);
      if (!policy) {
        fail(*n, key("policy"), fmt::format("expected one of resident|on_demand|keep_alive, got '{}'", text));
      }
      m.policy = *policy;
    }
    constexpr int64_t kMaxU31 = std::numeric_limits<int32_t>::max();
    if (const auto* n = t.get("num_ctx")) m.num_ctx = integer(*n, key("num_ctx"), 1, kMaxU31);
    if (const auto* n = t.get("num_parallel")) m.num_parallel = integer(*n, key("num_parallel"), 1, 1024);
    if (const auto* n = t.get("num_batch")) m.num_batch = integer(*n, key("num_batch"), 1, kMaxU31);
    if (const auto* n = t.get("num_thread")) m.num_thread = integer(*n, key("num_thread"), 0, 4096);
    if (const auto* n = t.get("kv_cache_type")) {
      std::string text = string(*n, key("kv_cache_type"));
      std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
      if (std::find(std::begin(kKvCacheTypes), std::end(kKvCacheTypes), text) == std::end(kKvCacheTypes)) {
        fail(*n, key("kv_cache_type"), fmt::format("expected one of f16|q8_0|q4_0, got {}", describe(*n)));
      }
      m.kv_cache_type = text;
    }
    if (const auto* n = t.get("flash_attn")) {
      if (const auto* s = n->as_string(); s && s->get() == "auto")
        m.flash_attn.reset();
      else if (n->is_boolean())
        m.flash_attn = boolean(*n, key("flash_attn"));
      else
        fail(*n, key("flash_attn"), fmt::format("expected true, false or \"auto\", got {}", describe(*n)));
    }
    if (const auto* n = t.get("keep_alive")) m.keep_alive = keep_alive(*n, key("keep_alive"));
    return m;
  }

  Config read(const toml::table& root) {
    Config config;
    check_keys(root, "", {"server", "memory", "model"});
    if (const auto* n = root.get("server")) read_server(*n, config.server);
    if (const auto* n = root.get("memory")) read_memory(*n, config.memory);
    if (const auto* n = root.get("model")) {
      const auto* models = n->as_array();
      if (!models) fail(*n, "model", "expected [[model]] tables");
      for (size_t i = 0; i < models->size(); ++i) {
        ModelConfig m = read_model(*models->get(i), i);
        if (config.find_model(m.name)) {
          fail(*models->get(i)->as_table()->get("name"), fmt::format("model[{}].name", i),
               fmt::format("duplicate model name '{}'", m.name));
        }
        config.models.push_back(std::move(m));
      }
    }
    return config;
  }

 private:
  const toml::table& table(const toml::node& node, std::string_view key) {
    const auto* t = node.as_table();
    if (!t) fail(node, key, fmt::format("expected a table, got {}", toml_type_name(node)));
    return *t;
  }

  std::string string_or(const toml::node& node, std::string_view key, std::string_view expected) {
    const auto* s = node.as_string();
    if (!s) fail(node, key, fmt::format("expected {}, got {}", expected, describe(node)));
    return s->get();
  }

  std::string source_;
};

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

uint16_t parse_port(std::string_view text, std::string_view whole) {
  if (!all_digits(text)) throw std::invalid_argument(fmt::format("'{}': port '{}' is not a number", whole, text));
  if (text.size() > 5 || std::stoul(std::string(text)) > 65535) {
    throw std::invalid_argument(fmt::format("'{}': port {} is out of range 0..65535", whole, text));
  }
  return static_cast<uint16_t>(std::stoul(std::string(text)));
}

}  // namespace

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

HostPort parse_host_port(std::string_view text) {
  const std::string_view whole = text;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (text.substr(0, 7) == "http://") text.remove_prefix(7);
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);

  HostPort out{kDefaultHost, kDefaultPort};
  std::string_view host;
  if (!text.empty() && text.front() == '[') {  // [v6] or [v6]:port
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      throw std::invalid_argument(fmt::format("'{}': missing ']' after an IPv6 address", whole));
    }
    host = text.substr(1, close - 1);
    if (host.empty()) throw std::invalid_argument(fmt::format("'{}': empty IPv6 address", whole));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw std::invalid_argument(fmt::format("'{}': expected ':port' after ']'", whole));
      out.port = parse_port(rest.substr(1), whole);
    }
  } else if (std::count(text.begin(), text.end(), ':') > 1) {  // a bare IPv6 address
    host = text;
  } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    out.port = parse_port(text.substr(colon + 1), whole);
  } else if (all_digits(text)) {
    out.port = parse_port(text, whole);
  } else {
    host = text;
  }
  if (std::any_of(host.begin(), host.end(), [](unsigned char c) { return std::isspace(c) || c == '/'; })) {
    throw std::invalid_argument(fmt::format("'{}' is not a valid host (expected host:port)", whole));
  }
  if (!host.empty()) out.host = std::string(host);
  return out;
}

const char* to_string(ModelPolicy policy) {
  switch (policy) {
    case ModelPolicy::Resident: return "resident";
    case ModelPolicy::OnDemand: return "on_demand";
    case ModelPolicy::KeepAlive: return "keep_alive";
  }
  return "keep_alive";
}

std::optional<ModelPolicy> parse_model_policy(std::string_view text) {
  for (ModelPolicy p : {ModelPolicy::Resident, ModelPolicy::OnDemand, ModelPolicy::KeepAlive}) {
    if (text == to_string(p)) return p;
  }
  return std::nullopt;
}

const ModelConfig* Config::find_model(std::string_view name) const {
  for (const ModelConfig& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

Config parse_config_string(std::string_view text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError(fmt::format("{}:{}:{}: {}", source_name, where.line, where.column, e.description()));
  }
  Config config = ConfigReader(source_name).read(root);
  config.source = source_name;
  return config;
}

Config load_config_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError(fmt::format("{}: is a directory, not a config file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open config file: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(fmt::format("{}: cannot read config file", path));
  Config config = parse_config_string(text.str(), path);
  // A relative models directory is relative to the config file, not to the daemon's cwd.
  if (!config.server.models.empty() && std::filesystem::path(config.server.models).is_relative()) {
    config.server.models =
        (std::filesystem::path(path).parent_path() / config.server.models).lexically_normal().string();
  }
  return config;
}

std::filesystem::path resolve_model_path(const ModelConfig& model, const std::filesystem::path& models_dir) {
  const std::filesystem::path p(model.path);
  if (p.is_absolute() || models_dir.empty()) return p;
  return models_dir / p;
}

std::chrono::milliseconds checked_runner_timeout(std::chrono::milliseconds t) {
  if (t.count() != 0 && t < std::chrono::seconds(1)) throw std::invalid_argument("must be 0 (never) or at least 1s");
  return t;
}

}  // namespace ebb
