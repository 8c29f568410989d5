#include "common/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using ebb::ConfigError;
using ebb::ModelPolicy;

namespace {

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

std::string config_error(const std::string& toml) {
  try {
    ebb::parse_config_string(toml, "ebb.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << toml;
  return "";
}

TEST(Config, Defaults) {
  const ebb::Config c = ebb::parse_config_string("");
  EXPECT_EQ(c.server.host.to_string(), "127.0.0.1:11434");
  EXPECT_EQ(c.server.models, "");
  EXPECT_EQ(c.memory.headroom, (ebb::Headroom{true, 20}));
  EXPECT_EQ(c.memory.kv_idle, 5min);
  EXPECT_EQ(c.memory.keep_alive, ebb::KeepAlive::after(15min));
  EXPECT_EQ(c.memory.host_keep, 1h);
  EXPECT_EQ(c.memory.host_budget, (ebb::Headroom{true, 50}));
  EXPECT_EQ(c.memory.snapshot_budget, (ebb::Headroom{true, 10}));
  EXPECT_FALSE(c.memory.device_memory.has_value());
  EXPECT_EQ(c.memory.queue_timeout, 60s);
  EXPECT_EQ(c.memory.queue_capacity, 64u);
  EXPECT_TRUE(c.models.empty());
}

TEST(Config, FullExample) {
  const ebb::Config c = ebb::parse_config_string(R"(
[server]
host = "0.0.0.0:8080"
models = "/var/lib/ebb/models"

[memory]
headroom = "2GiB"
kv_idle = "30s"
keep_alive = "-1"
host_keep = "2h"
host_budget = "16GiB"
snapshot_budget = "5%"
device_memory = "8GiB"
queue_timeout = "90s"
queue_capacity = 8

[[model]]
name = "qwen2-7b"
path = "qwen2-7b-q4_0.gguf"
policy = "resident"
num_ctx = 8192
num_parallel = 4

[[model]]
name = "embed"
path = "/abs/nomic.gguf"
policy = "on_demand"
num_batch = 2048
num_thread = 8
kv_cache_type = "Q8_0"
flash_attn = true
keep_alive = 0

[[model]]
name = "small:latest"
path = "sub/small.gguf"
keep_alive = "10m"
flash_attn = "auto"
)");
  EXPECT_EQ(c.server.host, (ebb::HostPort{"0.0.0.0", 8080}));
  EXPECT_EQ(c.server.models, "/var/lib/ebb/models");
  EXPECT_EQ(c.memory.headroom, (ebb::Headroom{false, double(2ULL << 30)}));
  EXPECT_EQ(c.memory.kv_idle, 30s);
  EXPECT_TRUE(c.memory.keep_alive.is_forever());
  EXPECT_EQ(c.memory.host_keep, 2h);
  EXPECT_EQ(c.memory.host_budget.bytes_of(64ULL << 30), 16ULL << 30);
  EXPECT_EQ(c.memory.snapshot_budget.bytes_of(1000), 50u);
  EXPECT_EQ(c.memory.device_memory, 8ULL << 30);
  EXPECT_EQ(c.memory.queue_timeout, 90s);
  EXPECT_EQ(c.memory.queue_capacity, 8u);

  ASSERT_EQ(c.models.size(), 3u);
  const auto& q = c.models[0];
  EXPECT_EQ(q.name, "qwen2-7b");
  EXPECT_EQ(q.policy, ModelPolicy::Resident);
  EXPECT_EQ(q.num_ctx, 8192u);
  EXPECT_EQ(q.num_parallel, 4u);
  EXPECT_EQ(q.num_batch, 512u);
  EXPECT_EQ(q.num_thread, 0u);
  EXPECT_EQ(q.kv_cache_type, "f16");
  EXPECT_FALSE(q.flash_attn.has_value());
  EXPECT_FALSE(q.keep_alive.has_value());

  const auto& e = c.models[1];
  EXPECT_EQ(e.policy, ModelPolicy::OnDemand);
  EXPECT_EQ(e.num_ctx, 4096u);
  EXPECT_EQ(e.num_parallel, 1u);
  EXPECT_EQ(e.num_batch, 2048u);
  EXPECT_EQ(e.num_thread, 8u);
  EXPECT_EQ(e.kv_cache_type, "q8_0");
  EXPECT_EQ(e.flash_attn, true);
  ASSERT_TRUE(e.keep_alive.has_value());
  EXPECT_TRUE(e.keep_alive->is_zero());

  const auto& s = c.models[2];
  EXPECT_EQ(s.policy, ModelPolicy::KeepAlive);
  EXPECT_EQ(s.keep_alive, ebb::KeepAlive::after(10min));
  EXPECT_FALSE(s.flash_attn.has_value());

  EXPECT_EQ(c.find_model("embed"), &c.models[1]);
  EXPECT_EQ(c.find_model("nope"), nullptr);
  EXPECT_EQ(ebb::resolve_model_path(q, "/models"), "/models/qwen2-7b-q4_0.gguf");
  EXPECT_EQ(ebb::resolve_model_path(e, "/models"), "/abs/nomic.gguf");
  EXPECT_EQ(ebb::resolve_model_path(s, ""), "sub/small.gguf");
}

TEST(Config, NumbersForDurationsAndSizes) {
  const ebb::Config c = ebb::parse_config_string(R"(
server.host = 9000
memory.kv_idle = 60
memory.keep_alive = 1.5
memory.device_memory = 1073741824
memory.headroom = 0
)");
  EXPECT_EQ(c.server.host, (ebb::HostPort{"127.0.0.1", 9000}));
  EXPECT_EQ(c.memory.kv_idle, 60s);
  EXPECT_EQ(c.memory.keep_alive, ebb::KeepAlive::after(1500ms));
  EXPECT_EQ(c.memory.device_memory, 1ULL << 30);
  EXPECT_EQ(c.memory.headroom.bytes_of(100), 0u);
}

TEST(Config, SyntaxErrorsHaveFileAndLine) {
  EXPECT_CONTAINS(config_error("[server]\nhost = \n"), "ebb.toml:2:");
  EXPECT_CONTAINS(config_error("[server]\nhost = \"a\"\nhost = \"b\"\n"), "ebb.toml:3:");
}

TEST(Config, UnknownKeysAreErrors) {
  EXPECT_CONTAINS(config_error("[sever]\nhost = \"x\"\n"),
                  "ebb.toml:1: sever: unknown key (expected one of: server, memory, model)");
  EXPECT_CONTAINS(config_error("[memory]\nheadrom = \"20%\"\n"), "ebb.toml:2: memory.headrom: unknown key");
  EXPECT_CONTAINS(config_error("[[model]]\nname = \"a\"\npath = \"a.gguf\"\nnum_ctxx = 5\n"),
                  "ebb.toml:4: model[0].num_ctxx: unknown key");
}

TEST(Config, BadValuesNameTheKey) {
  const std::string models = R"(
[[model]]
name = "a"
path = "a.gguf"

[[model]]
name = "b"
path = "b.gguf"

[[model]]
name = "c"
path = "c.gguf"
policy = "sometimes"
)";
  EXPECT_CONTAINS(config_error(models),
                  "ebb.toml:13: model[2].policy: expected one of resident|on_demand|keep_alive, got 'sometimes'");
  EXPECT_CONTAINS(config_error("[memory]\nheadroom = \"120%\"\n"),
                  "ebb.toml:2: memory.headroom: '120%' is more than 100%");
  EXPECT_CONTAINS(config_error("[memory]\nkv_idle = \"5 mins\"\n"),
                  "memory.kv_idle: '5 mins' has an unknown duration unit");
  EXPECT_CONTAINS(config_error("[memory]\nkv_idle = \"-5m\"\n"), "memory.kv_idle: must not be negative");
  EXPECT_CONTAINS(config_error("[memory]\nhost_keep = true\n"), "memory.host_keep: expected a duration");
  EXPECT_CONTAINS(config_error("[memory]\nkeep_alive = \"never\"\n"), "memory.keep_alive: 'never' is not a duration");
  EXPECT_CONTAINS(config_error("[memory]\nkeep_alive = [1]\n"), "memory.keep_alive: expected a duration");
  EXPECT_CONTAINS(config_error("[memory]\ndevice_memory = \"8 gigs\"\n"),
                  "memory.device_memory: '8 gigs' has an unknown size unit");
  EXPECT_CONTAINS(config_error("[memory]\ndevice_memory = 0\n"), "memory.device_memory: must be more than 0 bytes");
  EXPECT_CONTAINS(config_error("[memory]\nhost_budget = -1\n"), "memory.host_budget: expected a size or percentage");
  EXPECT_CONTAINS(config_error("[server]\nhost = \"localhost:99999\"\n"),
                  "server.host: 'localhost:99999': port 99999 is out of range");
  EXPECT_CONTAINS(config_error("[server]\nhost = 70000\n"), "server.host: port 70000 is out of range");
  EXPECT_CONTAINS(config_error("[server]\nmodels = 5\n"), "server.models: expected a string, got an integer");
  EXPECT_CONTAINS(config_error("server = 5\n"), "server: expected a table, got an integer");
  EXPECT_CONTAINS(config_error("[model]\nname = \"a\"\n"), "model: expected [[model]] tables");
}

TEST(Config, ModelValidation) {
  const auto model = [](const std::string& extra) { return "[[model]]\nname = \"m\"\npath = \"m.gguf\"\n" + extra; };
  EXPECT_CONTAINS(config_error("[[model]]\npath = \"m.gguf\"\n"), "ebb.toml:1: model[0].name: missing");
  EXPECT_CONTAINS(config_error("[[model]]\nname = \"m\"\n"), "model[0].path: missing");
  EXPECT_CONTAINS(config_error("[[model]]\nname = \"\"\npath = \"m\"\n"),
                  "model[0].name: '' is not a valid model name");
  EXPECT_CONTAINS(config_error("[[model]]\nname = \"a b\"\npath = \"m\"\n"), "'a b' is not a valid model name");
  EXPECT_CONTAINS(config_error("[[model]]\nname = \"m\"\npath = \"\"\n"), "model[0].path: must not be empty");
  EXPECT_CONTAINS(config_error(model("num_ctx = 0")), "model[0].num_ctx: expected an integer in 1..2147483647, got 0");
  EXPECT_CONTAINS(config_error(model("num_ctx = \"4k\"")),
                  "model[0].num_ctx: expected an integer in 1..2147483647, got '4k'");
  EXPECT_CONTAINS(config_error(model("num_parallel = 0")), "model[0].num_parallel: expected an integer in 1..1024");
  EXPECT_CONTAINS(config_error(model("num_batch = -1")), "model[0].num_batch: expected an integer");
  EXPECT_CONTAINS(config_error(model("num_thread = -1")), "model[0].num_thread: expected an integer in 0..4096");
  EXPECT_CONTAINS(config_error(model("kv_cache_type = \"q5_1\"")),
                  "model[0].kv_cache_type: expected one of f16|q8_0|q4_0, got 'q5_1'");
  EXPECT_CONTAINS(config_error(model("flash_attn = \"yes\"")),
                  "model[0].flash_attn: expected true, false or \"auto\", got 'yes'");
  EXPECT_CONTAINS(config_error(model("keep_alive = \"soon\"")), "model[0].keep_alive:");
  EXPECT_CONTAINS(config_error(model("") + model("")), "ebb.toml:5: model[1].name: duplicate model name 'm'");
}

TEST(Config, LoadFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("ebb_config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "ebb.toml").string();
  std::ofstream(path) << "[server]\nmodels = \"models\"\n\n[memory]\nheadroom = \"oops\"\n";
  try {
    ebb::load_config_file(path);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), path + ":5: memory.headroom: 'oops' is not a byte size");
  }

  std::ofstream(path) << "[server]\nmodels = \"models\"\n";
  const ebb::Config c = ebb::load_config_file(path);
  EXPECT_EQ(c.source, path);
  EXPECT_EQ(c.server.models, (dir / "models").string());  // relative to the config file

  EXPECT_THROW(ebb::load_config_file((dir / "missing.toml").string()), ConfigError);
  EXPECT_CONTAINS(
      [&] {
        try {
          ebb::load_config_file(dir.string());
        } catch (const ConfigError& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      "is a directory");
  std::filesystem::remove_all(dir);
}

TEST(HostPort, Forms) {
  using ebb::HostPort;
  using ebb::parse_host_port;
  EXPECT_EQ(parse_host_port("0.0.0.0:8080"), (HostPort{"0.0.0.0", 8080}));
  EXPECT_EQ(parse_host_port(":9000"), (HostPort{"127.0.0.1", 9000}));
  EXPECT_EQ(parse_host_port("9000"), (HostPort{"127.0.0.1", 9000}));
  EXPECT_EQ(parse_host_port("localhost"), (HostPort{"localhost", 11434}));
  EXPECT_EQ(parse_host_port("[::1]:8080"), (HostPort{"::1", 8080}));
  EXPECT_EQ(parse_host_port("[::]"), (HostPort{"::", 11434}));
  EXPECT_EQ(parse_host_port("::1"), (HostPort{"::1", 11434}));
  EXPECT_EQ(parse_host_port("http://example.com:80/"), (HostPort{"example.com", 80}));
  EXPECT_EQ(parse_host_port(":0"), (HostPort{"127.0.0.1", 0}));
  EXPECT_EQ(parse_host_port(""), (HostPort{"127.0.0.1", 11434}));
  EXPECT_EQ(parse_host_port("[::1]:8080").to_string(), "[::1]:8080");
  EXPECT_EQ(parse_host_port("9000").to_string(), "127.0.0.1:9000");
}

TEST(HostPort, Errors) {
  using ebb::parse_host_port;
  EXPECT_THROW(parse_host_port("host:65536"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("host:abc"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("host:"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("[::1"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("[::1]8080"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("[]:80"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("99999999999999999999"), std::invalid_argument);
  EXPECT_THROW(parse_host_port("a b:80"), std::invalid_argument);
  try {
    parse_host_port("localhost:99999");
  } catch (const std::invalid_argument& e) {
    EXPECT_CONTAINS(e.what(), "port 99999 is out of range 0..65535");
  }
}

TEST(ModelPolicy, RoundTrips) {
  for (ModelPolicy p : {ModelPolicy::Resident, ModelPolicy::OnDemand, ModelPolicy::KeepAlive}) {
    EXPECT_EQ(ebb::parse_model_policy(ebb::to_string(p)), p);
  }
  EXPECT_FALSE(ebb::parse_model_policy("Resident").has_value());
}

}  // namespace
