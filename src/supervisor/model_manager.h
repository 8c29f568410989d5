#pragma once
// Runner lifecycle per model: spawn on first use, reuse while loaded, unload after keep_alive,
// notice runner death. One runner instance per model name.
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/options.h"
#include "common/units.h"
#include "supervisor/model_registry.h"
#include "supervisor/runner_process.h"

namespace ebb::supervisor {

// A load that failed: the HTTP layer answers 500 with this message.
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ModelManager {
 public:
  using Clock = std::chrono::steady_clock;
  struct Config {
    std::string exe;  // path of the ebb binary (runners are `exe runner`)
    KeepAlive default_keep_alive = KeepAlive::after(std::chrono::minutes(15));
    std::chrono::milliseconds load_timeout{std::chrono::minutes(5)};
  };

  struct Instance {
    std::string name;
    ModelEntry entry;
    std::shared_ptr<RunnerProcess> runner;
    bool loading = true;
    std::string load_error;
    nlohmann::json ready;  // the runner's ready message (memory breakdown, n_ctx)
    uint32_t num_ctx = 0;
    int busy = 0;
    Clock::time_point last_used{};
    std::optional<Clock::time_point> unload_at;  // nullopt: forever or busy
    KeepAlive keep_alive;
  };

  // An in-flight request's hold on a loaded runner; releasing it arms the keep_alive timer.
  class Lease {
   public:
    Lease(ModelManager* m, std::shared_ptr<Instance> inst, int64_t load_ns, std::optional<KeepAlive> ka)
        : mgr_(m), inst_(std::move(inst)), load_ns_(load_ns), keep_alive_(ka) {}
    Lease(Lease&& o) noexcept : mgr_(o.mgr_), inst_(std::move(o.inst_)), load_ns_(o.load_ns_), keep_alive_(o.keep_alive_) { o.mgr_ = nullptr; }
    Lease(const Lease&) = delete;
    ~Lease() {
      if (mgr_ && inst_) mgr_->release(inst_, keep_alive_);
    }
    RunnerProcess& runner() const { return *inst_->runner; }
    int64_t load_ns() const { return load_ns_; }

   private:
    ModelManager* mgr_;
    std::shared_ptr<Instance> inst_;
    int64_t load_ns_;
    std::optional<KeepAlive> keep_alive_;
  };

  explicit ModelManager(Config cfg);
  ~ModelManager();

  // Returns a lease on a ready runner for the model, loading it first when needed.
  // Throws LoadError when the runner cannot load the file.
  Lease acquire(const ModelEntry& entry, const ContextOptions& ctx, std::optional<KeepAlive> keep_alive);

  // Stops the model's runner now (idle or not).
  bool unload(const std::string& name);
  // /api/ps entries.
  nlohmann::json ps();
  void stop_all();

 private:
  void release(const std::shared_ptr<Instance>& inst, std::optional<KeepAlive> ka);
  void on_runner_exit(const std::string& name, RunnerProcess* runner);
  void timer_loop();
  void stop_instance_locked(std::unique_lock<std::mutex>& lk, const std::string& name);

  Config cfg_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Instance>> instances_;
  bool stopping_ = false;
  std::thread timer_;
};

}  // namespace ebb::supervisor
