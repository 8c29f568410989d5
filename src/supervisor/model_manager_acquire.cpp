// ModelManager::acquire: asks memory::next_admission for the next step and carries it out, until
// it can hand out a lease or must give up. Blocking calls (dry runs, loads) run unlocked().
#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "supervisor/model_manager.h"

namespace ebb::supervisor {

namespace mem = ebb::memory;

// One acquire's progress through its steps.
struct ModelManager::Admitting {
  std::string name;
  uint32_t want_ctx = 0;
  Clock::time_point deadline;
  const ContextOptions& ctx;
  const std::function<bool()>& client_gone;
  bool queued = false;      // counted in waiting_
  bool handed_out = false;  // the lease ends the request
  bool joined = false;      // waiting on a load someone else started: its failure is ours too
  uint64_t seen_errors = 0;
  int64_t load_ns = 0;  // this request's own load, for its timings
};

namespace {

// The context the request asks for, capped at what the model was trained for.
uint32_t wanted_context(const ModelEntry& entry, const ContextOptions& ctx) {
  uint32_t want = ctx.num_ctx > 0 ? static_cast<uint32_t>(ctx.num_ctx) : entry.settings.num_ctx;
  if (auto train = entry.info->context_length(); train && *train > 0 && want > *train)
    want = static_cast<uint32_t>(*train);
  return want;
}

std::string load_failed(const std::string& name, const std::string& why) {
  return "model '" + name + "' could not be loaded: " + why;
}

}  // namespace

mem::Footprint ModelManager::dry_run(const ModelEntry& entry, const ContextOptions& ctx) {
  if (!entry.info) throw LoadError(load_failed(entry.name, entry.error));
  Instance inst;  // not in instances_: nothing here is reserved or loaded
  inst.entry = entry;
  Lock lk(mu_);
  return measure(lk, inst, wanted_context(entry, ctx), ctx).footprint;
}

ModelManager::Lease ModelManager::acquire(const ModelEntry& entry, const ContextOptions& ctx,
                                          std::optional<KeepAlive> ka, const std::function<bool()>& client_gone) {
  if (!entry.info) throw LoadError(load_failed(entry.name, entry.error));
  Lock lk(mu_);
  if (stopping_) throw unavailable("server is shutting down");
  if (auto it = instances_.find(entry.name);
      it != instances_.end() && it->second->runner && !same_file(it->second->entry, entry))
    drop_changed_file(lk, entry);
  Instance& inst = instance_for(entry);
  Admitting a{entry.name, wanted_context(entry, ctx), Clock::now() + cfg_.queue_timeout, ctx, client_gone};
  feed(mem::RequestArrived{a.name});
  ScopeExit undo([&] {
    if (a.queued) --waiting_;
    if (!a.handed_out) feed(mem::RequestEnded{a.name});
  });
  a.seen_errors = inst.error_seq;
  // A request's keep_alive wins; else the model's configured one; else the policy's.
  const std::optional<KeepAlive> keep_alive = ka ? ka : entry.settings.keep_alive;
  auto ask = [&](const mem::Footprint* measured) {
    const mem::ModelState& st = *machine_.find(a.name);
    return mem::next_admission({st, a.want_ctx, st.busy > 1, measured}, machine_.models(), machine_.ledger());
  };
  for (;;) {
    if (stopping_) throw unavailable("server is shutting down");
    if (a.joined && inst.error_seq != a.seen_errors) throw LoadError(load_failed(a.name, inst.error));
    a.joined = false;
    a.seen_errors = inst.error_seq;
    mem::Admission step = ask(nullptr);
    std::optional<MeasuredLoad> measured;
    if (const auto* m = std::get_if<mem::AdmitMeasure>(&step)) {
      const mem::Tier before = machine_.find(a.name)->tier;
      measured = measure(lk, inst, m->num_ctx, ctx);
      if (machine_.find(a.name)->tier != before) continue;  // changed while measuring: decide again
      step = ask(&measured->footprint);
    }
    if (auto lease = take_step(lk, a, inst, step, measured ? &*measured : nullptr, keep_alive))
      return std::move(*lease);
  }
}

std::optional<ModelManager::Lease> ModelManager::take_step(Lock& lk, Admitting& a, Instance& inst,
                                                           const mem::Admission& step, const MeasuredLoad* measured,
                                                           std::optional<KeepAlive> ka) {
  const std::string& name = a.name;
  if (std::holds_alternative<mem::AdmitServe>(step)) {
    if (!inst.runner || !inst.runner->alive()) {
      // Its runner just died; the exit is being settled (bytes freed, tier cold): decide after.
      wait_or_give_up(lk, a, "timed out waiting for '" + name + "' to recover");
      return std::nullopt;
    }
    a.handed_out = true;
    return Lease(this, name, inst.runner, a.load_ns, ka, has_snapshots(snapshot_key(inst)));
  }
  if (std::holds_alternative<mem::AdmitJoin>(step)) {
    a.joined = true;
    wait_or_give_up(lk, a, "timed out waiting for '" + name + "' to load");
  } else if (std::holds_alternative<mem::AdmitAwaitIdle>(step)) {
    wait_or_give_up(lk, a, "model '" + name + "' is busy with a smaller context; timed out waiting to reload it");
  } else if (std::holds_alternative<mem::AdmitReload>(step)) {
    feed(mem::ReloadRequested{name});
  } else if (const auto* start = std::get_if<mem::AdmitStart>(&step)) {
    start_load(lk, a, inst, *measured, start->warm);
  } else if (const auto* ev = std::get_if<mem::Evict>(&step)) {
    evict(name, *ev);
    wait_or_give_up(lk, a, "timed out waiting for memory to be freed for '" + name + "'");
  } else if (const auto* w = std::get_if<mem::Wait>(&step)) {
    if (!a.queued) {
      if (waiting_ >= cfg_.queue_capacity)
        throw unavailable("too many requests waiting for device memory (" + w->message + ")");
      ++waiting_;
      a.queued = true;
    }
    wait_or_give_up(lk, a, w->message + " (timed out after waiting)");
  } else if (const auto* refuse = std::get_if<mem::Refuse>(&step)) {
    throw unavailable(refuse->message);
  }
  return std::nullopt;  // AdmitMeasure cannot come back once a footprint is given
}

LoadRequest ModelManager::load_request(const Instance& inst, uint32_t num_ctx, const ContextOptions& ctx) const {
  const auto& s = inst.entry.settings;
  LoadRequest r;
  r.path = inst.entry.path;
  r.num_ctx = num_ctx;
  r.num_parallel = s.num_parallel;
  r.num_batch = ctx.num_batch > 0 ? static_cast<uint32_t>(ctx.num_batch) : s.num_batch;
  r.num_thread = ctx.num_thread > 0 ? static_cast<uint32_t>(ctx.num_thread) : s.num_thread;
  r.num_gpu = ctx.num_gpu;
  r.kv_cache_type = s.kv_cache_type;
  r.flash_attn = s.flash_attn;
  return r;
}

ModelManager::MeasuredLoad ModelManager::measure(Lock& lk, const Instance& inst, uint32_t num_ctx,
                                                 const ContextOptions& ctx) {
  LoadRequest load = load_request(inst, num_ctx, ctx);
  const std::string name = inst.entry.name;
  const std::string identity =
      inst.entry.path + "|" + std::to_string(inst.entry.file_size) + "|" + std::to_string(inst.entry.mtime_ns);
  mem::Footprint fp;
  std::string error;
  unlocked(lk, [&] {
    try {
      fp = cfg_.measure_footprint(load, identity);
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  if (!error.empty()) throw LoadError(load_failed(name, error));
  fp.device = cfg_.device_id;
  fp.baseline = baseline_;
  if (fp.n_ctx) load.num_ctx = fp.n_ctx;  // capped at the trained length by the dry run
  load.prompt_cache = true;               // slots are saved to the snapshot cache before reuse
  return {std::move(load), fp};
}

// Reserves the bytes (LoadStarted) and carries out its SpawnRunner/CreateContext here: the
// runner loads unlocked, and the result goes back to the machine under the lock.
void ModelManager::start_load(Lock& lk, Admitting& a, Instance& inst, const MeasuredLoad& measured, bool warm) {
  if (!feed(mem::LoadStarted{a.name, measured.footprint}).ok()) {
    cv_.wait_for(lk, std::chrono::milliseconds(50));  // Draining or NoRoom: decide again shortly
    return;
  }
  inst.load = measured.load;
  std::shared_ptr<Runner> runner = warm ? inst.runner : nullptr;
  const auto t0 = Clock::now();
  ReadyReport ready;
  std::string error;
  try {
    // A runner never maps a file other than the one measured and checked (a missing one the
    // runner reports itself).
    std::error_code ec;
    if (!warm && std::filesystem::exists(inst.entry.path, ec) && changed_on_disk(inst.entry))
      throw std::runtime_error("its file " + inst.entry.path + " changed on disk while the load was prepared");
    if (!warm) inst.runner = runner = runner_for(inst);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (runner) {
    unlocked(lk, [&] {
      try {
        ready = warm ? runner->create_context(measured.load.num_ctx, cfg_.load_timeout)
                     : runner->load(measured.load, cfg_.load_timeout);
      } catch (const std::exception& e) {
        error = e.what();
      }
    });
  }
  inst.last_load_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  if (!error.empty()) {
    spdlog::error("model '{}' could not be loaded: {}", a.name, error);
    feed(mem::LoadFailed{a.name, error});
    if (!runner) feed(mem::RunnerExited{a.name});  // none was started: no exit will settle the bytes
    throw LoadError(load_failed(a.name, error));
  }
  finish_load(inst, measured, warm, ready);
  a.load_ns = inst.last_load_ns;
}

void ModelManager::finish_load(Instance& inst, const MeasuredLoad& measured, bool warm, const ReadyReport& ready) {
  const std::string& name = inst.entry.name;
  mem::Footprint actual = measured.footprint;
  if (ready.memory.contains("weights")) {
    const mem::Footprint dev = device_share(ready.memory, device_filter());
    actual.weights = dev.weights;
    actual.kv = dev.kv;
    actual.compute = dev.compute;
  }
  if (auto out = feed(mem::LoadSucceeded{name, actual}); !out.ok()) throw LoadError(load_failed(name, out.message));
  spdlog::info("model '{}' {} in {} ms (weights {} ms, {} MiB of them read ahead; context {} ms; runner pid {})", name,
               warm ? "woke" : "loaded", inst.last_load_ns / 1000000, ready.model_load_ns / 1000000,
               ready.prefetched_bytes >> 20, ready.context_ns / 1000000, inst.runner ? inst.runner->pid() : 0);
}

void ModelManager::evict(const std::string& name, const mem::Evict& evict) {
  for (const auto& step : evict.steps) {
    spdlog::info("planner: {} '{}' to free {} for '{}'", mem::to_string(step.kind), step.model,
                 format_bytes(step.frees), name);
    if (step.kind == mem::Step::Kind::ReleaseKv)
      feed(mem::KvReleaseRequested{step.model});
    else
      feed(mem::UnloadRequested{step.model, false});
  }
}

Unavailable ModelManager::unavailable(const std::string& why) const {
  const auto next = machine_.next_deadline();
  if (!next) return Unavailable(why);
  const auto wait = std::chrono::ceil<std::chrono::seconds>(*next - Clock::now());
  return Unavailable(why, std::clamp(wait, std::chrono::seconds(1), std::chrono::seconds(300)));
}

void ModelManager::wait_or_give_up(Lock& lk, const Admitting& a, const std::string& why) {
  if (!wait_for_change(lk, a.deadline, a.client_gone)) throw unavailable(why);
}

bool ModelManager::wait_for_change(Lock& lk, Clock::time_point deadline, const std::function<bool()>& client_gone) {
  auto slice = Clock::now() + std::chrono::milliseconds(50);
  bool notified = cv_.wait_until(lk, std::min(deadline, slice)) == std::cv_status::no_timeout;
  if (client_gone && client_gone()) throw Cancelled("client disconnected while waiting");
  return notified || Clock::now() < deadline;
}

}  // namespace ebb::supervisor
