#include "supervisor/model_manager.h"

#include <algorithm>
#include <functional>

#include <spdlog/spdlog.h>

#include "memory/planner.h"
#include "common/messages.h"
#include "common/process_memory.h"
#include "supervisor/gpu_process_memory.h"

namespace ebb::supervisor {

using json = nlohmann::json;
namespace mem = ebb::memory;


namespace {

using protocol::kSnapshotMinGain;  // a snapshot must cover this many more prompt tokens than the slots

mem::KeepAlive to_memory(const KeepAlive& k) {
  return k.is_forever() ? mem::KeepAlive::forever() : mem::KeepAlive::after(k.duration);
}

mem::Policy to_memory(ModelPolicy p) {
  switch (p) {
    case ModelPolicy::Resident: return mem::Policy::Resident;
    case ModelPolicy::OnDemand: return mem::Policy::OnDemand;
    default: return mem::Policy::KeepAlive;
  }
}

}  // namespace

ModelManager::ModelManager(Config cfg)
    : cfg_(std::move(cfg)),
      probe_(cfg_.exe, device_filter()),  // cfg_ is initialized first
      snapshots_(cfg_.snapshot_budget),
      machine_(mem::MachineConfig{cfg_.timers, cfg_.host_budget > cfg_.snapshot_budget ? cfg_.host_budget - cfg_.snapshot_budget : 0,
                                  cfg_.device_is_host_ram},
               mem::Ledger(cfg_.device_total, cfg_.headroom)) {
  if (!cfg_.kv_disk.empty()) disk_ = std::make_unique<SnapshotDisk>(cfg_.kv_disk, cfg_.kv_disk_budget);
  // The per-runner baseline: what an idle runner costs before it loads anything.
  try {
    auto r = RunnerProcess::spawn(cfg_.exe);
    baseline_ = r->wait_hello(std::chrono::seconds(10)).value("process", json::object()).value("rss", uint64_t{0});
    // On host RAM a runner that has loaded and decoded holds more code pages than an idle one:
    // measured on a tiny model, so that the first load is counted right too.
    if (cfg_.device_is_host_ram) {
      auto t0 = std::chrono::steady_clock::now();
      json fc = r->calibrate(std::chrono::seconds(30));
      if (fc.contains("code_bytes")) {
        baseline_ += fc["code_bytes"].get<uint64_t>();
        spdlog::debug("runner baseline: {} KiB, of which {} KiB of code a load and a decode touch (measured in {} ms)",
                      baseline_ >> 10, fc["code_bytes"].get<uint64_t>() >> 10,
                      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
      } else {
        spdlog::warn("could not measure a runner's code pages: {}", fc.value("error", "no answer"));
      }
    }
    // On a GPU the baseline is device memory: the driver's per-process context, as NVML sees it.
    if (!cfg_.device_is_host_ram) {
      r->init_gpu(std::chrono::seconds(60));
      if (auto gpu = gpu_process_memory(gpu_index()); gpu && gpu->count(r->pid())) {
        baseline_ = gpu->at(r->pid());
        spdlog::info("runner baseline on {}: {} MiB of device memory per process (NVML)", cfg_.device_id, baseline_ >> 20);
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
  timer_ = std::thread([this] { timer_loop(); });
}

ModelManager::~ModelManager() { stop_all(); }

mem::SnapshotKey ModelManager::snapshot_key(const Instance& inst) const {
  return {inst.entry.path, inst.entry.file_size, inst.entry.mtime_ns, inst.load_params.value("kv_cache_type", inst.entry.settings.kv_cache_type)};
}

mem::Outcome ModelManager::feed(const mem::Event& e) {
  auto out = machine_.on(e, Clock::now());
  execute(out);
  return out;
}

ModelManager::Instance& ModelManager::instance_for(const ModelEntry& entry) {
  auto& slot = instances_[entry.name];
  if (!slot) {
    slot = std::make_unique<Instance>();
    machine_.add(entry.name, to_memory(entry.settings.policy), entry.file_size);
  }
  if (!slot->runner) slot->entry = entry;  // pick up a changed file only while nothing runs it
  return *slot;
}

void ModelManager::execute(const mem::Outcome& out) {
  for (const auto& a : out.actions) {
    auto it = instances_.find(a.model);
    Instance* inst = it == instances_.end() ? nullptr : it->second.get();
    switch (a.kind) {
      case mem::Action::Kind::SpawnRunner:
      case mem::Action::Kind::CreateContext:
        break;  // carried out by the thread that started the load (load_now)
      case mem::Action::Kind::ReleaseKv:
        if (inst && inst->runner) {
          auto runner = inst->runner;
          std::string name = a.model;
          std::thread([this, runner, name] {
            json report;
            try {
              // The runner refuses while a request is still queued in it; that ends within a step.
              for (int attempt = 0; attempt < 600; ++attempt) {
                report = runner->release_kv(std::chrono::seconds(60));
                if (!report.contains("error")) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
              }
              if (report.contains("error")) throw RunnerError(report["error"].get<std::string>());
            } catch (const std::exception& e) {
              spdlog::warn("release-kv of '{}' failed ({}); stopping its runner", name, e.what());
              runner->kill();  // its exit settles the bytes
              return;
            }
            std::lock_guard lk(mu_);
            if (auto it2 = instances_.find(name); it2 != instances_.end() && it2->second->runner == runner) it2->second->ready = report;
            feed(mem::KvReleased{name});
            cv_.notify_all();
          }).detach();
        }
        break;
      case mem::Action::Kind::StopRunner:
        if (inst && inst->runner) {
          auto runner = inst->runner;
          std::thread([runner] { runner->stop(std::chrono::seconds(10), /*save=*/true); }).detach();
        }
        break;
      case mem::Action::Kind::KillRunner:
        if (inst && inst->runner) inst->runner->kill();
        break;
      case mem::Action::Kind::LockHost:
        if (inst) host_.lock(a.model, inst->entry.path);
        break;
      case mem::Action::Kind::UnlockHost:
        host_.unlock(a.model);
        break;
      case mem::Action::Kind::FailRequests:
        if (inst) {
          inst->error = a.message;
          ++inst->error_seq;
        }
        break;
      case mem::Action::Kind::Replan:
        break;
    }
  }
  cv_.notify_all();
}

mem::Footprint ModelManager::footprint_for(Lock& lk, Instance& inst, uint32_t num_ctx, const ContextOptions& ctx) {
  const auto& s = inst.entry.settings;
  json params = {{"path", inst.entry.path},
                 {"num_ctx", num_ctx},
                 {"num_parallel", s.num_parallel},
                 {"num_batch", ctx.num_batch > 0 ? static_cast<uint32_t>(ctx.num_batch) : s.num_batch},
                 {"num_thread", ctx.num_thread > 0 ? static_cast<uint32_t>(ctx.num_thread) : s.num_thread},
                 {"num_gpu", ctx.num_gpu},
                 {"kv_cache_type", s.kv_cache_type},
                 {"flash_attn", s.flash_attn ? json(*s.flash_attn) : json()}};
  std::string identity = inst.entry.path + "|" + std::to_string(inst.entry.file_size) + "|" + std::to_string(inst.entry.mtime_ns);
  lk.unlock();
  mem::Footprint fp;
  std::string error;
  try {
    fp = probe_.measure(params, identity);
  } catch (const std::exception& e) {
    error = e.what();
  }
  lk.lock();
  if (!error.empty()) throw LoadError("model '" + inst.entry.name + "' could not be loaded: " + error);
  fp.device = cfg_.device_id;
  fp.baseline = baseline_;
  inst.load_params = params;
  inst.load_params["num_ctx"] = fp.n_ctx ? fp.n_ctx : num_ctx;
  inst.load_params["prompt_cache"] = true;  // slots are saved to the snapshot cache before reuse
  return fp;
}

std::shared_ptr<RunnerProcess> ModelManager::spawn_runner(Instance& inst) {
  std::string name = inst.entry.name;
  RunnerProcess::SnapshotHooks hooks;
  mem::SnapshotKey key = snapshot_key(inst);
  uint32_t n_ctx = inst.load_params.value("num_ctx", 0u);
  hooks.on_snapshot = [this, key](const json& h, std::shared_ptr<const SharedBlob> state) {
    mem::Snapshot s;
    s.key = key;
    s.n_ctx = h.value("n_ctx", 0u);
    s.tokens = h.value("tokens", std::vector<int32_t>{});
    s.state = std::move(state);
    keep_snapshot(std::move(s));
  };
  hooks.find = [this, key, n_ctx](const std::vector<int32_t>& prompt, size_t have)
      -> std::optional<std::pair<std::vector<int32_t>, std::shared_ptr<const SharedBlob>>> {
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
  RunnerProcess::ExitCallback on_exit = [this, name](RunnerProcess& r) { on_runner_exit(name, r); };
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
  return RunnerProcess::spawn(cfg_.exe, std::move(on_exit), std::move(hooks));
}

// Carries out SpawnRunner/CreateContext for a LoadStarted that this thread fed.
void ModelManager::load_now(Lock& lk, Instance& inst, const mem::Footprint& fp, bool warm) {
  std::string name = inst.entry.name;
  std::shared_ptr<RunnerProcess> runner = warm ? inst.runner : nullptr;
  json params = inst.load_params;
  auto t0 = Clock::now();
  if (!warm) {
    runner = spawn_runner(inst);
    inst.runner = runner;
  }
  lk.unlock();
  json ready;
  std::string error;
  try {
    ready = warm ? runner->create_context(params.value("num_ctx", 0u), cfg_.load_timeout) : runner->load(params, cfg_.load_timeout);
  } catch (const std::exception& e) {
    error = e.what();
  }
  lk.lock();
  inst.last_load_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  if (!error.empty()) {
    spdlog::error("model '{}' could not be loaded: {}", name, error);
    feed(mem::LoadFailed{name, error});
    throw LoadError("model '" + name + "' could not be loaded: " + error);
  }
  inst.ready = ready;
  mem::Footprint actual = fp;
  if (const auto& m = ready.value("memory", json::object()); m.contains("weights")) {
    const mem::Footprint dev = device_share(m, device_filter());
    actual.weights = dev.weights;
    actual.kv = dev.kv;
    actual.compute = dev.compute;
  }
  auto out = feed(mem::LoadSucceeded{name, actual});
  if (!out.ok()) throw LoadError("model '" + name + "' could not be loaded: " + out.message);
  spdlog::info("model '{}' {} in {} ms (weights {} ms, {} MiB of them read ahead; context {} ms; runner pid {})", name,
               warm ? "woke" : "loaded", inst.last_load_ns / 1000000, ready.value("model_load_ns", int64_t{0}) / 1000000,
               ready.value("prefetched_bytes", uint64_t{0}) >> 20, ready.value("context_ns", int64_t{0}) / 1000000,
               runner->pid());
}

bool ModelManager::wait_for_change(Lock& lk, Clock::time_point deadline, const std::function<bool()>& client_gone) {
  auto slice = Clock::now() + std::chrono::milliseconds(50);
  bool notified = cv_.wait_until(lk, std::min(deadline, slice)) == std::cv_status::no_timeout;
  if (client_gone && client_gone()) throw Cancelled("client disconnected while waiting");
  return notified || Clock::now() < deadline;
}

ModelManager::Lease ModelManager::acquire(const ModelEntry& entry, const ContextOptions& ctx, std::optional<KeepAlive> ka,
                                          const std::function<bool()>& client_gone) {
  if (!entry.info) throw LoadError("model '" + entry.name + "' could not be loaded: " + entry.error);
  uint32_t want_ctx = ctx.num_ctx > 0 ? static_cast<uint32_t>(ctx.num_ctx) : entry.settings.num_ctx;
  if (auto train = entry.info->context_length(); train && *train > 0 && want_ctx > *train) want_ctx = static_cast<uint32_t>(*train);

  Lock lk(mu_);
  if (stopping_) throw Unavailable("server is shutting down");
  Instance& inst = instance_for(entry);
  const std::string name = entry.name;
  feed(mem::RequestArrived{name});
  bool handed_out = false;
  bool queued = false;
  int64_t load_ns = 0;
  struct Undo {
    std::function<void()> fn;
    ~Undo() { fn(); }
  } undo{[&] {
    if (queued) --waiting_;
    if (!handed_out) feed(mem::RequestEnded{name});
  }};
  uint64_t seen_errors = inst.error_seq;
  bool joined = false;  // waiting on a load someone else started: its failure is ours too
  const auto deadline = Clock::now() + cfg_.queue_timeout;

  for (;;) {
    if (stopping_) throw Unavailable("server is shutting down");
    if (joined && inst.error_seq != seen_errors) throw LoadError("model '" + name + "' could not be loaded: " + inst.error);
    joined = false;
    seen_errors = inst.error_seq;
    const mem::ModelState& st = *machine_.find(name);
    switch (mem::plan_reuse(st, want_ctx)) {
      case mem::Reuse::Serve:
        if (!inst.runner || !inst.runner->alive()) {
          // Its runner just died; the exit is being settled (bytes freed, tier cold): decide after.
          if (!wait_for_change(lk, deadline, client_gone)) throw Unavailable("timed out waiting for '" + name + "' to recover");
          break;
        }
        handed_out = true;
        // A request's keep_alive wins; else the model's configured one; else the policy's.
        return Lease(this, name, inst.runner, load_ns, ka ? ka : entry.settings.keep_alive, has_snapshots(snapshot_key(inst)));
      case mem::Reuse::Join:
        joined = true;
        if (!wait_for_change(lk, deadline, client_gone)) throw Unavailable("timed out waiting for '" + name + "' to load");
        break;
      case mem::Reuse::Reload:
        if (st.busy > 1) {
          if (!wait_for_change(lk, deadline, client_gone))
            throw Unavailable("model '" + name + "' is busy with a smaller context; timed out waiting to reload it");
        } else {
          feed(mem::ReloadRequested{name});
        }
        break;
      case mem::Reuse::Wake:
      case mem::Reuse::Load: {
        const mem::Tier tier_before = st.tier;
        const bool warm = tier_before == mem::Tier::Warm;
        uint32_t num_ctx = warm ? std::max(want_ctx, st.footprint.n_ctx) : want_ctx;
        mem::Footprint fp = footprint_for(lk, inst, num_ctx, ctx);
        if (machine_.find(name)->tier != tier_before) break;  // changed while measuring: decide again
        uint64_t held = machine_.ledger().held(name);
        uint64_t needed = fp.total() > held ? fp.total() - held : 0;
        auto plan = mem::plan_load({name, needed}, machine_.models(), machine_.ledger());
        if (std::holds_alternative<mem::Fits>(plan)) {
          auto out = feed(mem::LoadStarted{name, fp});
          if (!out.ok()) {
            cv_.wait_for(lk, std::chrono::milliseconds(50));  // Draining or NoRoom: plan again shortly
            break;
          }
          load_now(lk, inst, fp, warm);
          load_ns = inst.last_load_ns;
        } else if (auto* ev = std::get_if<mem::Evict>(&plan)) {
          for (const auto& step : ev->steps) {
            spdlog::info("planner: {} '{}' to free {} for '{}'", mem::to_string(step.kind), step.model, format_bytes(step.frees), name);
            if (step.kind == mem::Step::Kind::ReleaseKv)
              feed(mem::KvReleaseRequested{step.model});
            else
              feed(mem::UnloadRequested{step.model, false});
          }
          if (!wait_for_change(lk, deadline, client_gone)) throw Unavailable("timed out waiting for memory to be freed for '" + name + "'");
        } else if (auto* w = std::get_if<mem::Wait>(&plan)) {
          if (!queued) {
            if (waiting_ >= cfg_.queue_capacity) throw Unavailable("too many requests waiting for device memory (" + w->message + ")");
            ++waiting_;
            queued = true;
          }
          if (!wait_for_change(lk, deadline, client_gone)) throw Unavailable(w->message + " (timed out after waiting)");
        } else {
          throw Unavailable(std::get<mem::Refuse>(plan).message);
        }
        break;
      }
    }
  }
}

void ModelManager::release(const std::string& name, std::optional<KeepAlive> ka) {
  std::lock_guard lk(mu_);
  measure_first_compute(name);
  mem::RequestEnded e{name};
  if (ka) e.keep_alive = to_memory(*ka);
  feed(e);
}

void ModelManager::on_runner_exit(const std::string& name, RunnerProcess& r) {
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end()) return;
  Instance& inst = *it->second;
  if (inst.runner.get() != &r) return;
  std::string reason = r.exit_reason();
  inst.runner.reset();
  inst.ready = json();
  const auto* st = machine_.find(name);
  if (st && mem::on_device(st->tier) && !stopping_) spdlog::warn("runner for '{}' (pid {}) is gone: {}", name, r.pid(), reason);
  feed(mem::RunnerExited{name});
}

bool ModelManager::wait_settled(Lock& lk, const std::string& name, std::chrono::milliseconds timeout) {
  return cv_.wait_for(lk, timeout, [&] {
    const auto* st = machine_.find(name);
    auto it = instances_.find(name);
    bool runner_settled = mem::on_device(st->tier) || it == instances_.end() || !it->second->runner;
    return runner_settled && machine_.ledger().reserved(name) == 0 && machine_.ledger().held(name) == st->device_bytes();
  });
}

json ModelManager::load(const ModelEntry& entry, std::optional<KeepAlive> keep_alive) {
  { auto lease = acquire(entry, ContextOptions{}, keep_alive); }
  std::lock_guard lk(mu_);
  return entry_json(entry.name);
}

json ModelManager::unload(const ModelEntry& entry, bool to_cold) {
  Lock lk(mu_);
  instance_for(entry);
  auto out = feed(mem::UnloadRequested{entry.name, to_cold});
  if (!out.ok() && out.error != mem::Error::InvalidTransition) throw Conflict(out.message);
  wait_settled(lk, entry.name, std::chrono::seconds(30));
  return entry_json(entry.name);
}

json ModelManager::release_kv(const ModelEntry& entry) {
  Lock lk(mu_);
  instance_for(entry);
  auto out = feed(mem::KvReleaseRequested{entry.name});
  if (!out.ok()) throw Conflict(out.message);
  wait_settled(lk, entry.name, std::chrono::seconds(60));
  return entry_json(entry.name);
}

json ModelManager::pin(const ModelEntry& entry, bool pinned) {
  std::lock_guard lk(mu_);
  instance_for(entry);
  auto out = feed(mem::PinChanged{entry.name, pinned});
  if (!out.ok()) throw Conflict(out.message);
  return entry_json(entry.name);
}

void ModelManager::start_residents(const std::vector<ModelEntry>& residents) {
  std::vector<mem::Holder> holders;
  for (const auto& e : residents) {
    Lock lk(mu_);
    Instance& inst = instance_for(e);
    auto fp = footprint_for(lk, inst, e.settings.num_ctx, ContextOptions{});
    holders.push_back({e.name, fp.total()});
  }
  if (auto err = mem::check_resident_set(machine_.ledger().budget(), holders)) throw std::runtime_error(*err);
  for (const auto& e : residents) load(e, std::nullopt);
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
      lk.unlock();
      std::shared_ptr<RunnerProcess> fresh;
      try {
        fresh = RunnerProcess::spawn(cfg_.exe);
      } catch (const std::exception& e) {
        spdlog::warn("could not pre-spawn a runner: {}", e.what());
      }
      lk.lock();
      if (fresh && stopping_) {
        lk.unlock();
        fresh->stop(std::chrono::milliseconds(500));
        lk.lock();
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

std::pair<uint64_t, uint64_t> ModelManager::accounted_and_measured() {
  std::lock_guard lk(mu_);
  uint64_t measured = 0;
  for (const auto& [name, inst] : instances_)
    if (inst->runner) measured += read_process_memory(inst->runner->pid()).rss;
  return {machine_.ledger().used(), measured};
}

void ModelManager::stop_all() {
  std::vector<std::shared_ptr<RunnerProcess>> runners;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [n, inst] : instances_)
      if (inst->runner) runners.push_back(inst->runner);
  }
  cv_.notify_all();
  // Runners before the timer thread: a runner that thread spawned (a spare put to use) dies with
  // it (PR_SET_PDEATHSIG follows the thread). With --kv-disk, runners save their slots on the way
  // out and every snapshot goes to disk, so conversations continue after a restart.
  spdlog::debug("stopping {} runners", runners.size());
  for (auto& r : runners) r->stop(std::chrono::milliseconds(disk_ ? 10000 : 1000), disk_ != nullptr);
  std::shared_ptr<RunnerProcess> spare;
  {
    std::lock_guard lk(mu_);
    spare = std::move(spare_);
  }
  if (spare) spare->stop(std::chrono::milliseconds(500));
  {
    std::lock_guard lk(mu_);
    timer_stop_ = true;
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  if (disk_) {
    auto all = snapshots_.take_all();
    spdlog::info("kv-disk: writing {} snapshots to {}", all.size(), disk_->dir().string());
    for (auto& s : all) disk_->store(std::move(s));
    disk_->flush();
  }
}

void ModelManager::keep_snapshot(mem::Snapshot s) {
  std::vector<mem::Snapshot> evicted;
  snapshots_.put(std::move(s), disk_ ? &evicted : nullptr);
  for (auto& e : evicted) disk_->store(std::move(e));
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

std::string ModelManager::device_filter() const { return cfg_.device_is_host_ram ? "" : cfg_.device_id; }

unsigned ModelManager::gpu_index() const {
  // ggml names GPUs CUDA0, CUDA1, ...; NVML counts them from 0 the same way on one-GPU machines.
  size_t i = cfg_.device_id.find_first_of("0123456789");
  return i == std::string::npos ? 0 : static_cast<unsigned>(std::stoul(cfg_.device_id.substr(i)));
}

ModelManager::DeviceMeter ModelManager::device_meter() const {
  DeviceMeter m;
  m.host = cfg_.device_is_host_ram;
  if (!m.host) m.gpu = gpu_process_memory(gpu_index());
  return m;
}

uint64_t ModelManager::DeviceMeter::bytes(pid_t pid) const {
  if (host) return read_process_memory(pid).rss;
  if (!gpu) return 0;
  auto it = gpu->find(pid);
  return it == gpu->end() ? 0 : it->second;
}

bool ModelManager::has_snapshots(const mem::SnapshotKey& key) const {
  return snapshots_.has_any(key) || (disk_ && disk_->has_any(key));
}

}  // namespace ebb::supervisor
