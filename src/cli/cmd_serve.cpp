// `ebb serve`: the supervisor. HTTP API, model registry, runner lifecycle.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "api/server.h"
#include "cli/commands.h"
#include "cli/serve_safety.h"
#include "common/config.h"
#include "supervisor/device_probe.h"
#include "supervisor/model_manager.h"
#include "supervisor/model_registry.h"

namespace ebb::cli {
namespace {

struct ServeArgs {
  std::string host, models, config, device_memory, headroom, kv_disk, runner_timeout;
  bool models_read_only = false;
  SafetyArgs safety;
};

// "1", "true", "yes", "on" (any case) are true; unset or anything else false.
bool env_true(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return false;
  std::string s(v);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

// Says which routes need the key, and warns when a non-loopback address serves without one.
void log_access(const api::AccessPolicy& access, const std::string& host) {
  if (!access.api_key.empty()) {
    spdlog::info("API key required on {} routes", access.scope == ApiKeyScope::All ? "all" : "admin");
    return;
  }
  const bool loopback = host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
  if (!loopback)
    spdlog::warn("listening on {} without an API key: anyone who reaches it can load, pull and delete models", host);
}

std::string self_exe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot find the ebb binary (/proc/self/exe)");
  return std::string(buf, n);
}

int serve(const ServeArgs& a) {
  Config cfg;
  if (!a.config.empty()) cfg = load_config_file(a.config);
  // Precedence: flag, then environment, then config file, then default.
  std::string host_text = !a.host.empty() ? a.host : std::getenv("EBB_HOST") ? std::getenv("EBB_HOST") : "";
  HostPort hp = host_text.empty() ? cfg.server.host : parse_host_port(host_text);
  std::string models = !a.models.empty()           ? a.models
                       : std::getenv("EBB_MODELS") ? std::getenv("EBB_MODELS")
                                                   : cfg.server.models;
  if (models.empty())
    models = (std::filesystem::path(std::getenv("HOME") ? std::getenv("HOME") : ".") / ".ebb" / "models").string();
  const SafetySettings safety = resolve_safety_settings(a.safety, cfg.server);

  // Signals go to one thread only, which stops the server cleanly.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  supervisor::ModelRegistry registry(models);
  for (const auto& m : cfg.models) {
    supervisor::ModelEntry e;
    e.name = m.name;
    e.path = resolve_model_path(m, models).string();
    e.settings = m;
    registry.add_configured(e);
  }
  registry.refresh();

  supervisor::ModelManager::Config mc;
  mc.exe = self_exe();
  supervisor::DeviceInfo dev = supervisor::detect_device(
      mc.exe, !a.device_memory.empty() ? std::optional(parse_bytes(a.device_memory)) : cfg.memory.device_memory);
  Headroom headroom = !a.headroom.empty() ? parse_headroom(a.headroom) : cfg.memory.headroom;
  uint64_t ram = supervisor::host_ram_total();
  mc.device_id = dev.id;
  mc.device_name = dev.name;
  mc.device_total = dev.total;
  mc.device_is_host_ram = dev.is_host_ram;
  mc.headroom = std::min(headroom.bytes_of(dev.total), dev.total);
  mc.host_budget = cfg.memory.host_budget.bytes_of(ram);
  mc.snapshot_budget = std::min(cfg.memory.snapshot_budget.bytes_of(ram), mc.host_budget);
  mc.timers.kv_idle = cfg.memory.kv_idle;
  mc.timers.keep_alive = cfg.memory.keep_alive.is_forever() ? memory::KeepAlive::forever()
                                                            : memory::KeepAlive::after(cfg.memory.keep_alive.duration);
  mc.timers.host_keep = cfg.memory.host_keep;
  mc.queue_timeout = cfg.memory.queue_timeout;
  const char* runner_timeout_env = std::getenv("EBB_RUNNER_TIMEOUT");
  const std::string runner_timeout = !a.runner_timeout.empty() ? a.runner_timeout
                                     : runner_timeout_env      ? runner_timeout_env
                                                               : "";
  try {
    mc.runner_timeout =
        runner_timeout.empty() ? cfg.server.runner_timeout : checked_runner_timeout(parse_duration(runner_timeout));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("runner timeout '" + runner_timeout + "': " + e.what());
  }
  mc.queue_capacity = cfg.memory.queue_capacity;
  mc.kv_disk = !a.kv_disk.empty() ? a.kv_disk : cfg.memory.kv_disk;
  mc.kv_disk_budget = cfg.memory.kv_disk_budget;
  spdlog::info("device {} ({}): total {}, headroom {}, budget {}; host budget {}, snapshots {}", dev.id, dev.name,
               format_bytes(dev.total), format_bytes(mc.headroom), format_bytes(dev.total - mc.headroom),
               format_bytes(mc.host_budget), format_bytes(mc.snapshot_budget));
  supervisor::ModelManager manager(mc);

  std::vector<supervisor::ModelEntry> residents;
  for (const auto& m : cfg.models) {
    if (m.policy != ModelPolicy::Resident) continue;
    auto e = registry.find(m.name);
    if (!e || !e->info)
      throw std::runtime_error("resident model '" + m.name + "' is unusable: " + (e ? e->error : "not found"));
    residents.push_back(*e);
  }
  if (!residents.empty()) manager.start_residents(residents);

  const bool read_only = a.models_read_only || env_true("EBB_MODELS_READ_ONLY") || cfg.server.models_read_only;
  api::HttpServer http({registry, manager, read_only, mc.exe}, safety.gate);
  int port = http.bind(hp.host, hp.port);
  spdlog::info("ebb listening on {}:{} (models: {})", hp.host, port, models);
  log_access(safety.gate.access, hp.host);
  std::cout << "listening on " << hp.host << ":" << port << std::endl;

  std::thread sig([&, timeout = safety.shutdown_timeout] {
    int s = 0;
    sigwait(&set, &s);
    spdlog::info("signal {}: finishing running requests (up to {}), then shutting down", s, format_duration(timeout));
    // The runners stop after the drain but while the HTTP threads live: a runner dies with the
    // thread that spawned it (PR_SET_PDEATHSIG), and with --kv-disk it must save its slots first.
    http.drain(timeout, [&] { manager.stop_all(); });
    sigwait(&set, &s);
    spdlog::warn("signal {} again: exiting now", s);
    spdlog::shutdown();
    ::_exit(128 + s);
  });
  sig.detach();
  http.listen();
  manager.stop_all();  // when listening failed; a no-op after the signal
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& root) {
  auto a = std::make_shared<ServeArgs>();
  auto* cmd = root.add_subcommand("serve", "run the server (Ollama API on 127.0.0.1:11434)");
  cmd->add_option("--host", a->host, "listen address host:port, :port or port (env EBB_HOST)");
  cmd->add_option("--models", a->models,
                  "models directory: a store in Ollama's layout (manifests/, blobs/; ~/.ollama/models serves as it "
                  "is) and loose NAME.gguf files (env EBB_MODELS)");
  cmd->add_flag("--models-read-only", a->models_read_only,
                "refuse every write to the models directory: pull, create, copy, delete (env EBB_MODELS_READ_ONLY)");
  cmd->add_option("--config", a->config, "TOML config file");
  cmd->add_option("--device-memory", a->device_memory,
                  "device total, e.g. 8GiB: emulates a GPU of that size on a CPU, caps a real GPU");
  cmd->add_option("--headroom", a->headroom, "device headroom, e.g. 20% or 2GiB");
  cmd->add_option("--kv-disk", a->kv_disk, "spill KV snapshots to this directory; they also survive a restart");
  cmd->add_option("--runner-timeout", a->runner_timeout,
                  "kill a runner that makes no progress for this long with requests in flight, e.g. 60s; 0: never "
                  "(env EBB_RUNNER_TIMEOUT)");
  add_safety_options(cmd, a->safety);
  cmd->callback([a] {
    try {
      std::exit(serve(*a));
    } catch (const std::exception& e) {
      std::cerr << "ebb serve: " << e.what() << std::endl;
      std::exit(1);
    }
  });
}

}  // namespace ebb::cli
