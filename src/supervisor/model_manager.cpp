#include "supervisor/model_manager.h"

#include <spdlog/spdlog.h>

#include "common/time_format.h"

namespace ebb::supervisor {

using json = nlohmann::json;

ModelManager::ModelManager(Config cfg) : cfg_(std::move(cfg)) {
  timer_ = std::thread([this] { timer_loop(); });
}

ModelManager::~ModelManager() { stop_all(); }

ModelManager::Lease ModelManager::acquire(const ModelEntry& entry, const ContextOptions& ctx, std::optional<KeepAlive> ka) {
  if (!entry.info) throw LoadError("model '" + entry.name + "' could not be loaded: " + entry.error);
  uint32_t want_ctx = ctx.num_ctx > 0 ? static_cast<uint32_t>(ctx.num_ctx) : entry.settings.num_ctx;
  if (auto train = entry.info->context_length(); train && *train > 0 && want_ctx > *train) want_ctx = static_cast<uint32_t>(*train);
  std::unique_lock lk(mu_);
  for (;;) {
    if (stopping_) throw LoadError("server is shutting down");
    auto it = instances_.find(entry.name);
    if (it == instances_.end()) break;
    auto inst = it->second;
    if (inst->loading) {
      cv_.wait(lk);
      continue;
    }
    // Reuse when the loaded context is at least as large; reload only when more is needed.
    if (inst->runner && inst->runner->alive() && inst->num_ctx >= want_ctx) {
      ++inst->busy;
      inst->unload_at.reset();
      inst->last_used = Clock::now();
      return Lease(this, inst, 0, ka);
    }
    if (inst->busy > 0) {
      cv_.wait(lk);
      continue;
    }
    stop_instance_locked(lk, entry.name);
  }

  auto inst = std::make_shared<Instance>();
  inst->name = entry.name;
  inst->entry = entry;
  inst->busy = 1;
  instances_[entry.name] = inst;
  lk.unlock();

  auto t0 = Clock::now();
  json ready;
  std::shared_ptr<RunnerProcess> runner;
  std::string error;
  try {
    std::string name = entry.name;
    runner = RunnerProcess::spawn(cfg_.exe, [this, name](RunnerProcess& r) { on_runner_exit(name, &r); });
    const auto& s = entry.settings;
    ready = runner->load({{"path", entry.path},
                          {"num_ctx", want_ctx},
                          {"num_parallel", s.num_parallel},
                          {"num_batch", ctx.num_batch > 0 ? static_cast<uint32_t>(ctx.num_batch) : s.num_batch},
                          {"num_thread", ctx.num_thread > 0 ? ctx.num_thread : s.num_thread},
                          {"num_gpu", ctx.num_gpu},
                          {"kv_cache_type", s.kv_cache_type},
                          {"flash_attn", s.flash_attn.value_or(false)}},
                         cfg_.load_timeout);
  } catch (const std::exception& e) {
    error = e.what();
  }
  int64_t load_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();

  lk.lock();
  inst->loading = false;
  if (!error.empty()) {
    instances_.erase(entry.name);
    cv_.notify_all();
    lk.unlock();
    if (runner) runner->stop(std::chrono::milliseconds(500));
    spdlog::error("model '{}' could not be loaded: {}", entry.name, error);
    throw LoadError("model '" + entry.name + "' could not be loaded: " + error);
  }
  inst->runner = runner;
  inst->ready = ready;
  inst->num_ctx = ready.value("num_ctx", want_ctx);
  inst->last_used = Clock::now();
  cv_.notify_all();
  spdlog::info("model '{}' loaded in {} ms (runner pid {})", entry.name, load_ns / 1000000, runner->pid());
  return Lease(this, inst, load_ns, ka);
}

void ModelManager::release(const std::shared_ptr<Instance>& inst, std::optional<KeepAlive> ka) {
  std::unique_lock lk(mu_);
  --inst->busy;
  inst->last_used = Clock::now();
  inst->keep_alive = ka.value_or(cfg_.default_keep_alive);
  if (inst->busy == 0) {
    if (inst->keep_alive.is_forever())
      inst->unload_at.reset();
    else
      inst->unload_at = inst->last_used + inst->keep_alive.duration;
  }
  cv_.notify_all();
}

void ModelManager::on_runner_exit(const std::string& name, RunnerProcess* runner) {
  std::lock_guard lk(mu_);
  auto it = instances_.find(name);
  if (it != instances_.end() && it->second->runner.get() == runner) {
    spdlog::warn("runner for '{}' (pid {}) is gone: {}", name, runner->pid(), runner->exit_reason());
    instances_.erase(it);
  }
  cv_.notify_all();
}

void ModelManager::stop_instance_locked(std::unique_lock<std::mutex>& lk, const std::string& name) {
  auto it = instances_.find(name);
  if (it == instances_.end()) return;
  auto inst = it->second;
  instances_.erase(it);
  lk.unlock();
  if (inst->runner) inst->runner->stop();
  spdlog::info("model '{}' unloaded", name);
  lk.lock();
  cv_.notify_all();
}

bool ModelManager::unload(const std::string& name) {
  std::unique_lock lk(mu_);
  auto it = instances_.find(name);
  if (it == instances_.end() || it->second->loading) return false;
  stop_instance_locked(lk, name);
  return true;
}

json ModelManager::ps() {
  std::lock_guard lk(mu_);
  json out = json::array();
  for (const auto& [name, inst] : instances_) {
    if (inst->loading || !inst->runner) continue;
    const auto& mem = inst->ready.value("memory", json::object());
    uint64_t size = mem.value("weights", uint64_t{0}) + mem.value("kv", uint64_t{0}) + mem.value("compute", uint64_t{0});
    std::string expires = inst->busy > 0 || !inst->unload_at ? format_expiry(std::nullopt)
                                                               : format_expiry(*inst->unload_at);
    out.push_back({{"name", name},
                   {"model", name},
                   {"size", size},
                   {"digest", ""},
                   {"details", {{"format", "gguf"}, {"family", inst->entry.info->architecture()},
                                {"parameter_size", ""}, {"quantization_level", inst->entry.info->quantization_level()}}},
                   {"expires_at", expires},
                   {"size_vram", 0},
                   {"context_length", inst->num_ctx}});
  }
  return out;
}

void ModelManager::stop_all() {
  std::map<std::string, std::shared_ptr<Instance>> all;
  {
    std::lock_guard lk(mu_);
    if (stopping_ && instances_.empty() && !timer_.joinable()) return;
    stopping_ = true;
    all.swap(instances_);
  }
  cv_.notify_all();
  if (timer_.joinable()) timer_.join();
  for (auto& [n, inst] : all)
    if (inst->runner) inst->runner->stop(std::chrono::milliseconds(1000));
}

void ModelManager::timer_loop() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    cv_.wait_for(lk, std::chrono::milliseconds(100));
    auto now = Clock::now();
    std::vector<std::string> expired;
    for (const auto& [name, inst] : instances_)
      if (!inst->loading && inst->busy == 0 && inst->unload_at && *inst->unload_at <= now) expired.push_back(name);
    for (const auto& name : expired) stop_instance_locked(lk, name);
  }
}

}  // namespace ebb::supervisor
