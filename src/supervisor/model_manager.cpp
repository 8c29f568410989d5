#include "supervisor/model_manager.h"

#include <spdlog/spdlog.h>

#include "common/process_memory.h"
#include "memory/planner.h"
#include "supervisor/runner_process.h"

namespace ebb::supervisor {

using json = nlohmann::json;
namespace mem = ebb::memory;

namespace {

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

// The real seams: `exe runner` children and `exe runner --measure` dry runs.
void default_seams(ModelManager::Config& cfg, FootprintProbe& probe) {
  if (!cfg.spawn_runner)
    cfg.spawn_runner = [exe = cfg.exe, timeout = cfg.runner_timeout](Runner::ExitCallback on_exit,
                                                                     Runner::SnapshotHooks hooks) {
      return std::shared_ptr<Runner>(RunnerProcess::spawn(exe, std::move(on_exit), std::move(hooks), timeout));
    };
  if (!cfg.measure_footprint)
    cfg.measure_footprint = [&probe](const LoadRequest& load, const std::string& identity) {
      return probe.measure(load, identity);
    };
}

}  // namespace

ModelManager::ModelManager(Config cfg)
    : cfg_(std::move(cfg)),
      probe_(cfg_.exe, device_filter()),  // cfg_ is initialized first
      snapshots_(cfg_.snapshot_budget),
      machine_(mem::MachineConfig{cfg_.timers,
                                  cfg_.host_budget > cfg_.snapshot_budget ? cfg_.host_budget - cfg_.snapshot_budget : 0,
                                  cfg_.device_is_host_ram},
               mem::Ledger(cfg_.device_total, cfg_.headroom)) {
  default_seams(cfg_, probe_);
  if (!cfg_.kv_disk.empty()) disk_ = std::make_unique<SnapshotDisk>(cfg_.kv_disk, cfg_.kv_disk_budget);
  measure_baseline();
  timer_ = std::thread([this] { timer_loop(); });
}

ModelManager::~ModelManager() { stop_all(); }

mem::SnapshotKey ModelManager::snapshot_key(const Instance& inst) const {
  const std::string& kv_type =
      inst.load.kv_cache_type.empty() ? inst.entry.settings.kv_cache_type : inst.load.kv_cache_type;
  return {inst.entry.path, inst.entry.file_size, inst.entry.mtime_ns, kv_type};
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
  if (!slot->runner && !same_file(slot->entry, entry)) {
    // A changed file is picked up only while nothing runs it; the host tier's pages of the old
    // one go (a KV snapshot is keyed to its file's size and mtime, so none of the old ones match).
    const bool parked = host_.holds(entry.name);
    slot->entry = entry;
    if (parked) {
      spdlog::warn("model '{}': its file {} changed on disk; the host tier lets the old one go", entry.name,
                   entry.path);
      feed(mem::UnloadRequested{entry.name, true});
    }
  }
  return *slot;
}

void ModelManager::drop_changed_file(Lock& lk, const ModelEntry& entry) {
  auto out = feed(mem::UnloadRequested{entry.name, true});
  if (!out.ok()) {
    spdlog::warn("model '{}': its file {} changed on disk; serving the loaded copy until it can be unloaded ({})",
                 entry.name, entry.path, out.message);
    return;
  }
  spdlog::warn("model '{}': its file {} changed on disk; unloaded the old one", entry.name, entry.path);
  wait_settled(lk, entry.name, std::chrono::seconds(30));
  instance_for(entry);
}

void ModelManager::release(const std::string& name, std::optional<KeepAlive> ka) {
  std::lock_guard lk(mu_);
  measure_first_compute(name);
  mem::RequestEnded e{name};
  if (ka) e.keep_alive = to_memory(*ka);
  feed(e);
}

bool ModelManager::wait_settled(Lock& lk, const std::string& name, std::chrono::milliseconds timeout) {
  return cv_.wait_for(lk, timeout, [&] {
    const auto* st = machine_.find(name);
    auto it = instances_.find(name);
    bool runner_settled = mem::on_device(st->tier) || it == instances_.end() || !it->second->runner;
    return runner_settled && machine_.ledger().reserved(name) == 0 &&
           machine_.ledger().held(name) == st->device_bytes();
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
    holders.push_back({e.name, measure(lk, inst, e.settings.num_ctx, ContextOptions{}).footprint.total()});
  }
  if (auto err = mem::check_resident_set(machine_.ledger().budget(), holders)) throw std::runtime_error(*err);
  for (const auto& e : residents) load(e, std::nullopt);
}

std::pair<uint64_t, uint64_t> ModelManager::accounted_and_measured() {
  std::lock_guard lk(mu_);
  uint64_t measured = 0;
  for (const auto& [name, inst] : instances_)
    if (inst->runner) measured += read_process_memory(inst->runner->pid()).rss;
  return {machine_.ledger().used(), measured};
}

void ModelManager::stop_all() {
  std::vector<std::shared_ptr<Runner>> runners;
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
  // KV releases and stops in progress end with their runners.
  workers_.join_all();
  std::shared_ptr<Runner> spare;
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

}  // namespace ebb::supervisor
