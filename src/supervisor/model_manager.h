#pragma once
// The memory manager at work: drives memory::TierMachine (tiers, timers, ledger) and the
// admission step (memory/admission.h), and carries out their actions on runners, the host tier
// and the snapshot cache. One runner per model at a time. All decisions are made under one mutex;
// anything that blocks (spawning, loading, waiting for a runner) happens outside it, in
// `unlocked(lk, ...)` at the call. Runners and footprint dry runs come through Config's seams.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "common/options.h"
#include "common/scope_exit.h"
#include "common/units.h"
#include "memory/admission.h"
#include "memory/snapshot_cache.h"
#include "memory/tier_machine.h"
#include "supervisor/footprint_probe.h"
#include "supervisor/host_tier.h"
#include "supervisor/model_registry.h"
#include "supervisor/runner.h"
#include "supervisor/runner_messages.h"
#include "supervisor/snapshot_disk.h"
#include "supervisor/task_group.h"

namespace ebb::supervisor {

// A load that failed: 500.
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// Nothing can give way (or the wait queue is full / timed out): 503 with the numbers.
// `retry_after`: when trying again may find room (the HTTP answer's Retry-After).
class Unavailable : public std::runtime_error {
 public:
  explicit Unavailable(const std::string& what, std::chrono::seconds retry_after = kDefaultRetry)
      : std::runtime_error(what), retry_after_(retry_after) {}
  std::chrono::seconds retry_after() const { return retry_after_; }
  // Without an armed timer: nothing is known to free bytes at a given time (busy models finish
  // when they finish).
  static constexpr std::chrono::seconds kDefaultRetry{5};

 private:
  std::chrono::seconds retry_after_;
};
// The client left while its request waited: nothing to answer.
class Cancelled : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// An admin request the model's state refuses (busy, pinned, resident): 409.
class Conflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ModelManager {
 public:
  using Clock = std::chrono::steady_clock;
  // A footprint dry run for `load` (`identity`: the file's path, size and mtime); throws
  // std::runtime_error. The result has baseline 0: the manager adds its per-runner baseline.
  using FootprintMeasure = std::function<memory::Footprint(const LoadRequest& load, const std::string& identity)>;
  struct Config {
    std::string exe;  // the ebb binary; runners are `exe runner`
    std::string device_id = "CPU";
    std::string device_name = "CPU";
    uint64_t device_total = 0;
    uint64_t headroom = 0;
    bool device_is_host_ram = true;
    memory::TimerConfig timers;
    uint64_t host_budget = 0;  // locked model files, snapshots included
    uint64_t snapshot_budget = 0;
    std::chrono::milliseconds load_timeout{std::chrono::minutes(5)};
    std::chrono::milliseconds queue_timeout{std::chrono::seconds(60)};
    std::chrono::milliseconds runner_timeout{std::chrono::seconds(60)};  // 0: no watchdog (RunnerProcess::spawn)
    size_t queue_capacity = 64;
    std::string kv_disk;  // spill snapshots here (empty: RAM only)
    uint64_t kv_disk_budget = 0;
    // Seams, for tests; empty: `exe runner` children (RunnerProcess) and `exe runner --measure`.
    RunnerFactory spawn_runner;
    FootprintMeasure measure_footprint;
  };

  // Per model: the runner handle and what it was loaded with. The tier itself lives in the machine.
  struct Instance {
    ModelEntry entry;
    std::shared_ptr<Runner> runner;
    LoadRequest load;  // what the runner was (or will be) loaded with
    int64_t last_load_ns = 0;
    uint64_t error_seq = 0;  // bumps on FailRequests, so waiters know their load failed
    std::string error;
  };

  // An in-flight request's hold on a ready model; releasing it arms the model's timers.
  class Lease {
   public:
    Lease(ModelManager* m, std::string name, std::shared_ptr<Runner> runner, int64_t load_ns,
          std::optional<KeepAlive> ka, bool snapshots)
        : mgr_(m),
          name_(std::move(name)),
          runner_(std::move(runner)),
          load_ns_(load_ns),
          keep_alive_(ka),
          snapshots_(snapshots) {}
    Lease(Lease&& o) noexcept
        : mgr_(o.mgr_),
          name_(std::move(o.name_)),
          runner_(std::move(o.runner_)),
          load_ns_(o.load_ns_),
          keep_alive_(o.keep_alive_),
          snapshots_(o.snapshots_) {
      o.mgr_ = nullptr;
    }
    Lease(const Lease&) = delete;
    ~Lease() {
      if (mgr_) mgr_->release(name_, keep_alive_);
    }
    Runner& runner() const { return *runner_; }
    int64_t load_ns() const { return load_ns_; }
    // Whether the supervisor holds KV snapshots this request might continue from.
    bool snapshots() const { return snapshots_; }

   private:
    ModelManager* mgr_;
    std::string name_;
    std::shared_ptr<Runner> runner_;
    int64_t load_ns_;
    std::optional<KeepAlive> keep_alive_;
    bool snapshots_;
  };

  explicit ModelManager(Config cfg);
  ~ModelManager();

  // A lease on a ready runner for the model: loads, wakes or waits for room as admission says.
  // Throws LoadError (500), Unavailable (503), or Cancelled when `client_gone` turns true while
  // the request waits (its place in the queue and its reservation are given up).
  Lease acquire(const ModelEntry& entry, const ContextOptions& ctx, std::optional<KeepAlive> keep_alive,
                const std::function<bool()>& client_gone = {});

  // Admin operations; each returns the model's /api/ps entry. Throw Conflict when refused.
  nlohmann::json load(const ModelEntry& entry, std::optional<KeepAlive> keep_alive);
  nlohmann::json unload(const ModelEntry& entry, bool to_cold);
  nlohmann::json release_kv(const ModelEntry& entry);
  nlohmann::json pin(const ModelEntry& entry, bool pinned);

  // The footprint a load of `entry` with `ctx` would reserve (dry run, baseline included),
  // reserving and loading nothing: create --quantize reports it. Throws LoadError.
  memory::Footprint dry_run(const ModelEntry& entry, const ContextOptions& ctx);

  // Resident models: checked against the budget as a set, then loaded. Throws with the numbers.
  void start_residents(const std::vector<ModelEntry>& residents);

  nlohmann::json ps();      // /api/ps: models holding device bytes
  nlohmann::json memory();  // /api/memory
  // Accounted device bytes right now and the summed RSS of all runners (for tests and metrics).
  std::pair<uint64_t, uint64_t> accounted_and_measured();
  void stop_all();

 private:
  using Lock = std::unique_lock<std::mutex>;
  struct Admitting;  // one acquire's progress (model_manager_acquire.cpp)
  // A load's parameters and its footprint, measured outside the lock.
  struct MeasuredLoad {
    LoadRequest load;
    memory::Footprint footprint;
  };

  // Runs `fn` with `lk` released, and takes it again however `fn` ends: every call that blocks
  // (a dry run, a runner's reply, a spawn) goes through here, so the unlock shows at the call.
  template <class Fn>
  static auto unlocked(Lock& lk, Fn&& fn) {
    lk.unlock();
    ScopeExit relock([&] { lk.lock(); });
    return fn();
  }

  // model_manager.cpp: events, instances, admin operations.
  void release(const std::string& name, std::optional<KeepAlive> ka);
  Instance& instance_for(const ModelEntry& entry);
  // The model's file changed on disk while a runner holds the old one: unloads it to cold (the
  // host tier lets the old pages go too), so the next load maps the new file. A busy, pinned or
  // resident model keeps serving its loaded copy until it can be unloaded.
  void drop_changed_file(Lock& lk, const ModelEntry& entry);
  memory::Outcome feed(const memory::Event& e);
  bool wait_settled(Lock& lk, const std::string& name, std::chrono::milliseconds timeout);
  memory::SnapshotKey snapshot_key(const Instance& inst) const;

  // model_manager_acquire.cpp: admission steps and loads.
  std::optional<Lease> take_step(Lock& lk, Admitting& a, Instance& inst, const memory::Admission& step,
                                 const MeasuredLoad* measured, std::optional<KeepAlive> ka);
  LoadRequest load_request(const Instance& inst, uint32_t num_ctx, const ContextOptions& ctx) const;
  MeasuredLoad measure(Lock& lk, const Instance& inst, uint32_t num_ctx, const ContextOptions& ctx);
  void start_load(Lock& lk, Admitting& a, Instance& inst, const MeasuredLoad& measured, bool warm);
  void finish_load(Instance& inst, const MeasuredLoad& measured, bool warm, const ReadyReport& ready);
  void evict(const std::string& name, const memory::Evict& evict);
  // A 503 for `why`, whose retry_after is the time until the earliest armed timer (kv_idle,
  // keep_alive, host_keep: each frees bytes), between 1 s and 5 min, or kDefaultRetry. Under mu_.
  Unavailable unavailable(const std::string& why) const;
  // wait_for_change, or Unavailable(why) once the request's deadline has passed.
  void wait_or_give_up(Lock& lk, const Admitting& a, const std::string& why);
  // Waits for a state change until `deadline` (false: timed out), checking `client_gone` often.
  bool wait_for_change(Lock& lk, Clock::time_point deadline, const std::function<bool()>& client_gone);

  // model_manager_actions.cpp: the machine's actions carried out.
  void execute(const memory::Outcome& out);
  void release_kv_of(const std::string& name, std::shared_ptr<Runner> runner);  // on a worker

  // model_manager_runners.cpp: runners, the spare, the baseline.
  std::shared_ptr<Runner> new_runner(Runner::ExitCallback on_exit = {}, Runner::SnapshotHooks hooks = {});
  std::shared_ptr<Runner> runner_for(Instance& inst);  // the spare, or a fresh one
  Runner::SnapshotHooks snapshot_hooks(const Instance& inst);
  void on_runner_exit(const std::string& name, Runner& r);
  void measure_baseline();
  void timer_loop();
  bool spare_may_start() const;
  void measure_first_compute(const std::string& name);
  // Puts a snapshot in the RAM cache; what that evicts goes to disk (when configured).
  void keep_snapshot(memory::Snapshot s);
  bool has_snapshots(const memory::SnapshotKey& key) const;

  // model_manager_report.cpp: /api/ps and /api/memory.
  // A runner's device bytes as measured outside ebb: RSS on the CPU device, NVML on a GPU.
  struct DeviceMeter {
    bool host = true;
    std::optional<std::map<pid_t, uint64_t>> gpu;  // nullopt: NVML unavailable
    uint64_t bytes(pid_t pid) const;
    const char* source() const { return host ? "rss" : gpu ? "nvml" : "unavailable"; }
  };
  // One model's /api/ps entry; `meter` is read once per report, not once per model.
  nlohmann::json entry_json(const std::string& name, const DeviceMeter& meter);
  nlohmann::json entry_json(const std::string& name) { return entry_json(name, device_meter()); }
  DeviceMeter device_meter() const;
  unsigned gpu_index() const;
  std::string device_filter() const;  // device_share's device_id: empty on the CPU device

  Config cfg_;
  FootprintProbe probe_;
  HostTier host_;
  static constexpr const char* kSpareRunner = "(pre-spawned runner)";  // its ledger id

  // Locked on their own (snapshot hooks run on runners' reader threads, without mu_):
  memory::SnapshotCache snapshots_;
  std::unique_ptr<SnapshotDisk> disk_;  // --kv-disk: what the RAM cache evicts, and all of it at shutdown

  // mu_ guards every member below it up to workers_: machine_, instances_ (and each Instance),
  // baseline_, first_compute_measured_, spare_, spare_taken_at_, waiting_, timer_stop_,
  // stopping_; timer_ is started in the constructor and joined by stop_all. cv_ signals any
  // change of them. spare_gpu_init_ is written before the timer thread starts, then only read.
  // cfg_ is read-only after construction; probe_ and host_ lock themselves.
  std::mutex mu_;
  std::condition_variable cv_;
  memory::TierMachine machine_;
  std::map<std::string, std::unique_ptr<Instance>> instances_;
  uint64_t baseline_ = 0;                // per-runner bytes before any model is loaded (measured)
  bool first_compute_measured_ = false;  // GPU: what a first decode allocates is in baseline_
  bool spare_gpu_init_ = false;          // the spare creates its GPU context early (ledger holds baseline_)
  // A pre-spawned idle runner (said hello, loads nothing): a load skips process start-up.
  // Spawned by the timer thread, which lives as long as the server (PR_SET_PDEATHSIG follows
  // the spawning thread).
  std::shared_ptr<Runner> spare_;
  Clock::time_point spare_taken_at_{};  // when a load last took the spare
  size_t waiting_ = 0;
  bool timer_stop_ = false;  // the timer thread's end: after stop_all has stopped the runners
  bool stopping_ = false;
  std::thread timer_;
  // KV releases and runner stops run here; stop_all joins them. Last: destroyed first.
  TaskGroup workers_;
};

}  // namespace ebb::supervisor
