// ModelManager's reports: /api/ps entries and /api/memory.
#include "common/model_details.h"
#include "common/process_memory.h"
#include "common/time_format.h"
#include "supervisor/gpu_process_memory.h"
#include "supervisor/model_manager.h"

namespace ebb::supervisor {

using json = nlohmann::json;
namespace mem = ebb::memory;

static std::string deadline_text(const std::optional<mem::TimePoint>& t) {
  return t ? format_expiry(*t) : std::string();
}

json ModelManager::entry_json(const std::string& name, const DeviceMeter& meter) {
  const auto* st = machine_.find(name);
  const auto& inst = *instances_.at(name);
  const auto& fp = st->footprint;
  bool on_device = mem::on_device(st->tier);
  bool warm = st->tier == mem::Tier::Warm;
  uint64_t estimated = on_device ? st->device_bytes() : 0;
  uint64_t actual = inst.runner ? meter.bytes(inst.runner->pid()) : 0;
  // Ollama's expires_at: when the model leaves the device; far future when it never does.
  std::optional<mem::TimePoint> leaves = st->unload_at;
  const auto& info = inst.entry.info;
  json j = {{"name", name},
            {"model", name},
            {"size", estimated},
            {"digest", inst.entry.stored ? inst.entry.stored->digest
                                         : model_digest(inst.entry.path, inst.entry.file_size, inst.entry.mtime_ns)},
            {"details", info ? model_details(*info) : json::object()},
            {"expires_at", st->busy > 0 || st->is_protected() ? format_expiry(std::nullopt) : format_expiry(leaves)},
            {"size_vram", cfg_.device_is_host_ram ? 0 : estimated},
            {"context_length", fp.n_ctx},
            {"tier", mem::to_string(st->tier)},
            {"policy", mem::to_string(st->policy)},
            {"pinned", st->pinned},
            {"busy", st->busy},
            {"weights_bytes", on_device ? fp.weights : 0},
            {"kv_bytes", on_device && !warm ? fp.kv : 0},
            {"compute_bytes", on_device && !warm ? fp.compute : 0},
            {"baseline_bytes", on_device ? fp.baseline : 0},
            {"heap_bytes", on_device ? fp.heap : 0},
            {"estimated_bytes", estimated},
            {"actual_bytes", actual},
            {"actual_source", meter.source()},
            {"kv_release_at", deadline_text(st->kv_release_at)},
            {"unload_at", deadline_text(st->unload_at)},
            {"host_release_at", deadline_text(st->host_release_at)},
            {"host_locked", st->host_locked}};
  if (inst.runner) j["runner_pid"] = inst.runner->pid();
  if (inst.runner && !meter.host) j["actual_host_bytes"] = read_process_memory(inst.runner->pid()).rss;
  if (!st->last_error.empty()) j["last_error"] = st->last_error;
  return j;
}

json ModelManager::ps() {
  std::lock_guard lk(mu_);
  json out = json::array();
  const DeviceMeter meter = device_meter();
  for (const auto& [name, st] : machine_.models())
    if (mem::on_device(st.tier)) out.push_back(entry_json(name, meter));
  return out;
}

json ModelManager::memory() {
  std::lock_guard lk(mu_);
  const auto& ledger = machine_.ledger();
  json models = json::array();
  json host_models = json::array();
  uint64_t measured = 0;
  const DeviceMeter meter = device_meter();
  for (const auto& [name, st] : machine_.models()) {
    const auto& inst = *instances_.at(name);
    if (mem::on_device(st.tier)) {
      bool warm = st.tier == mem::Tier::Warm;
      uint64_t rss = inst.runner ? meter.bytes(inst.runner->pid()) : 0;
      measured += rss;
      models.push_back({{"name", name},
                        {"tier", mem::to_string(st.tier)},
                        {"weights_bytes", st.footprint.weights},
                        {"kv_bytes", warm ? 0 : st.footprint.kv},
                        {"compute_bytes", warm ? 0 : st.footprint.compute},
                        {"baseline_bytes", st.footprint.baseline},
                        {"heap_bytes", st.footprint.heap},
                        {"accounted_bytes", ledger.accounted(name)},
                        {"measured_bytes", rss}});
    } else if (st.host_locked) {
      host_models.push_back({{"name", name}, {"bytes", st.host_bytes}, {"tier", mem::to_string(st.tier)}});
    }
  }
  json device = {{"id", cfg_.device_id},
                 {"name", cfg_.device_name},
                 {"total", ledger.total()},
                 {"used", ledger.used()},
                 {"budget", ledger.budget()},
                 {"headroom", ledger.headroom()},
                 {"free", ledger.free()},
                 {"measured_used", measured},
                 {"measured_by", meter.source()},
                 {"spare_runner_bytes", ledger.held(kSpareRunner)},  // a GPU context held ahead of a load
                 {"emulated", cfg_.device_is_host_ram},
                 {"models", models}};
  return {{"devices", json::array({device})},
          {"host",
           {{"budget", cfg_.host_budget},
            {"locked", host_.locked_bytes()},
            {"mapped", host_.mapped_bytes()},
            // false once mlock was refused: the tier is the page cache then, not locked RAM
            {"locking", host_.lock_refused().empty()},
            {"lock_error", host_.lock_refused()},
            {"models", host_models}}},
          {"snapshots",
           {{"budget", snapshots_.budget()},
            {"used", snapshots_.used()},
            {"count", snapshots_.count()},
            {"disk", disk_ ? json{{"dir", disk_->dir().string()},
                                  {"budget", disk_->budget()},
                                  {"used", disk_->used()},
                                  {"count", disk_->count()}}
                           : json(nullptr)}}},
          {"waiting_requests", waiting_}};
}

}  // namespace ebb::supervisor

namespace ebb::supervisor {

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

}  // namespace ebb::supervisor
