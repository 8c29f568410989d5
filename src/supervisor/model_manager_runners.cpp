// Runners for ModelManager: the start-up baseline, the pre-spawned spare, each model's runner and
// its snapshot hooks, and what happens when one exits.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/messages.h"
#include "supervisor/gpu_process_memory.h"
#include "supervisor/model_manager.h"

namespace ebb::supervisor {

using json = nlohmann::json;
namespace mem = ebb::memory;
using protocol::kSnapshotMinGain;  // a snapshot must cover this many more prompt tokens than the slots

std::shared_ptr<Runner> ModelManager::new_runner(Runner::ExitCallback on_exit, Runner::SnapshotHooks hooks) {
  return cfg_.spawn_runner(std::move(on_exit), std::move(hooks));
}

// The per-runner baseline: what an idle runner costs before it loads anything. Runs in the
// constructor, before any other thread.
void ModelManager::measure_baseline() {
  try {
    auto r = new_runner();
    baseline_ = r->wait_hello(std::chrono::seconds(10)).rss;
    // On host RAM a runner that has loaded and decoded holds more code pages than an idle one:
    // measured on a tiny model, so that the first load is counted right too.
    if (cfg_.device_is_host_ram) {
      auto t0 = Clock::now();
      CalibrationReport fc = r->calibrate(std::chrono::seconds(30));
      if (fc.code_bytes) {
        baseline_ += *fc.code_bytes;
        spdlog::debug("runner baseline: {} KiB, of which {} KiB of code a load and a decode touch (measured in {} ms)",
                      baseline_ >> 10, *fc.code_bytes >> 10,
                      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
      } else {
        spdlog::warn("could not measure a runner's code pages: {}", fc.error);
      }
    }
    // On a GPU the baseline is device memory: the driver's per-process context, as NVML sees it.
    if (!cfg_.device_is_host_ram) {
      r->init_gpu(std::chrono::seconds(60));
      if (auto gpu = gpu_process_memory(gpu_index()); gpu && gpu->count(r->pid())) {
        baseline_ = gpu->at(r->pid());
        spdlog::info("runner baseline on {}: {} MiB of device memory per process (NVML)", cfg_.device_id,
                     baseline_ >> 20);
        // The pre-spawned runner then creates its GPU context early, so that a load does not
        // wait for the driver; the ledger holds those bytes for good. Only where they are small
        // next to the budget (≤ 2%): on a small budget they would crowd out a model.
        if (baseline_ <= machine_.ledger().budget() / 50 && machine_.hold_other(kSpareRunner, baseline_)) {
          spare_gpu_init_ = true;
          spdlog::info("the pre-spawned runner holds its {} MiB GPU context ahead of a load", baseline_ >> 20);
        }
      } else {
        spdlog::warn("NVML cannot tell a runner's device memory; its host RSS stands in as the baseline");
      }
    }
    r->stop(std::chrono::milliseconds(500));
  } catch (const std::exception& e) {
    spdlog::warn("could not measure the runner baseline: {}", e.what());
  }
}

Runner::SnapshotHooks ModelManager::snapshot_hooks(const Instance& inst) {
  Runner::SnapshotHooks hooks;
  mem::SnapshotKey key = snapshot_key(inst);
  uint32_t n_ctx = inst.load.num_ctx;
  hooks.on_snapshot = [this, key](const json& h, std::shared_ptr<const SharedBlob> state) {
    mem::Snapshot s;
    s.key = key;
    s.n_ctx = h.value("n_ctx", 0u);
    s.tokens = h.value("tokens", std::vector<int32_t>{});
    s.state = std::move(state);
    keep_snapshot(std::move(s));
  };
  hooks.find = [this, key, n_ctx](
                   const std::vector<int32_t>& prompt,
                   size_t have) -> std::optional<std::pair<std::vector<int32_t>, std::shared_ptr<const SharedBlob>>> {
    // Worth a transfer only when it covers clearly more than the runner's slots already do.
    auto s = snapshots_.best_match(key, n_ctx, prompt, have + kSnapshotMinGain);
    if (disk_) {
      size_t in_ram = s ? common_prefix(s->tokens, prompt) : 0;
      if (auto d = disk_->best_match(key, n_ctx, prompt, std::max(have + kSnapshotMinGain, in_ram + 1))) {
        keep_snapshot(*d);  // back in RAM, most recently used
        s = std::move(d);
      }
    }
    if (!s) return std::nullopt;
    return std::make_pair(std::move(s->tokens), std::move(s->state));
  };
  return hooks;
}

// A runner for the instance's load (inst.load is set): the spare when there is one, else a new one.
std::shared_ptr<Runner> ModelManager::runner_for(Instance& inst) {
  std::string name = inst.entry.name;
  Runner::SnapshotHooks hooks = snapshot_hooks(inst);
  Runner::ExitCallback on_exit = [this, name](Runner& r) { on_runner_exit(name, r); };
  if (spare_ && spare_->alive()) {
    auto r = std::move(spare_);
    spare_.reset();
    spare_taken_at_ = Clock::now();
    r->attach(std::move(on_exit), std::move(hooks));
    if (r->alive()) {
      cv_.notify_all();  // the timer thread spawns the next spare (see spare_may_start)
      return r;
    }
  }
  return new_runner(std::move(on_exit), std::move(hooks));
}

void ModelManager::on_runner_exit(const std::string& name, Runner& r) {
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return;
  Instance& inst = *it->second;
  if (inst.runner.get() != &r) return;
  std::string reason = r.exit_reason();
  inst.runner.reset();
  const auto* st = machine_.find(name);
  if (st && mem::on_device(st->tier) && !stopping_)
    spdlog::warn("runner for '{}' (pid {}) is gone: {}", name, r.pid(), reason);
  feed(mem::RunnerExited{name});
}

// The next spare starts once no request runs: starting a process (fork, exec, dynamic linking)
// takes tens of milliseconds of CPU, which the woken model's first request would otherwise share
// (on 2 cores, with its prefill). A machine that never idles gets one after a few seconds anyway.
bool ModelManager::spare_may_start() const {
  constexpr auto kLongestWait = std::chrono::seconds(3);
  if (Clock::now() - spare_taken_at_ >= kLongestWait) return true;
  for (const auto& [name, st] : machine_.models())
    if (st.busy > 0) return false;
  return true;
}

void ModelManager::timer_loop() {
  Lock lk(mu_);
  // Runs until stop_all has stopped every runner: runners this thread spawned die with it.
  while (!timer_stop_) {
    if (!stopping_ && (!spare_ || !spare_->alive()) && spare_may_start()) {
      std::shared_ptr<Runner> fresh = unlocked(lk, [&]() -> std::shared_ptr<Runner> {
        try {
          return new_runner();
        } catch (const std::exception& e) {
          spdlog::warn("could not pre-spawn a runner: {}", e.what());
          return nullptr;
        }
      });
      if (fresh && stopping_) {
        unlocked(lk, [&] { fresh->stop(std::chrono::milliseconds(500)); });
        continue;
      }
      spare_ = fresh;
      if (fresh && spare_gpu_init_) fresh->start_gpu_init();
    }
    auto next = machine_.next_deadline();
    auto until = Clock::now() + std::chrono::seconds(1);
    if (next && *next < until) until = *next;
    cv_.wait_until(lk, until);
    if (stopping_) continue;
    feed(mem::Tick{});
  }
}

// On a GPU a runner's first decode allocates device memory that no dry run sees (the backend's
// scratch pool, the BLAS workspace: 74 MiB on an H200, the same for every model). Measured once,
// on the first runner that has computed, it joins the per-runner baseline of later footprints.
void ModelManager::measure_first_compute(const std::string& name) {
  if (cfg_.device_is_host_ram || first_compute_measured_) return;
  auto it = instances_.find(name);
  const auto* st = machine_.find(name);
  if (it == instances_.end() || !it->second->runner || !st || st->tier != mem::Tier::Ready) return;
  auto gpu = gpu_process_memory(gpu_index());
  if (!gpu || !gpu->count(it->second->runner->pid())) return;
  first_compute_measured_ = true;
  const uint64_t measured = gpu->at(it->second->runner->pid()), accounted = st->device_bytes();
  if (measured <= accounted) return;
  baseline_ += measured - accounted;
  spdlog::info("a runner's first decode allocated {} MiB more on {} (NVML); the per-runner baseline is now {} MiB",
               (measured - accounted) >> 20, cfg_.device_id, baseline_ >> 20);
  if (spare_gpu_init_) machine_.hold_other(kSpareRunner, baseline_);  // keeps the old figure if it no longer fits
}

void ModelManager::keep_snapshot(mem::Snapshot s) {
  std::vector<mem::Snapshot> evicted;
  snapshots_.put(std::move(s), disk_ ? &evicted : nullptr);
  for (auto& e : evicted) disk_->store(std::move(e));
}

bool ModelManager::has_snapshots(const mem::SnapshotKey& key) const {
  return snapshots_.has_any(key) || (disk_ && disk_->has_any(key));
}

}  // namespace ebb::supervisor
