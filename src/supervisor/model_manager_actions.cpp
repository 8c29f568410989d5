// The machine's actions carried out. Whatever waits for a runner (a KV release, a stop) runs on
// workers_, which stop_all joins; its result comes back as an event under the lock.
#include <spdlog/spdlog.h>

#include "supervisor/model_manager.h"

namespace ebb::supervisor {

namespace mem = ebb::memory;

void ModelManager::execute(const mem::Outcome& out) {
  for (const auto& a : out.actions) {
    auto it = instances_.find(a.model);
    Instance* inst = it == instances_.end() ? nullptr : it->second.get();
    switch (a.kind) {
      case mem::Action::Kind::SpawnRunner:
      case mem::Action::Kind::CreateContext: break;  // carried out by the thread that started the load (start_load)
      case mem::Action::Kind::ReleaseKv:
        if (inst && inst->runner) {
          workers_.run([this, runner = inst->runner, name = a.model] { release_kv_of(name, runner); });
        }
        break;
      case mem::Action::Kind::StopRunner:
        if (inst && inst->runner) {
          workers_.run([runner = inst->runner] { runner->stop(std::chrono::seconds(10), /*save=*/true); });
        }
        break;
      case mem::Action::Kind::KillRunner:
        if (inst && inst->runner) inst->runner->kill();
        break;
      case mem::Action::Kind::LockHost:
        if (inst) host_.lock(a.model, inst->entry.path);
        break;
      case mem::Action::Kind::UnlockHost: host_.unlock(a.model); break;
      case mem::Action::Kind::FailRequests:
        if (inst) {
          inst->error = a.message;
          ++inst->error_seq;
        }
        break;
      case mem::Action::Kind::Replan: break;
    }
  }
  cv_.notify_all();
}

// On a worker: the runner refuses while a request is still queued in it, and asks again as its
// requests end (Runner::release_kv). A release that fails kills the runner: its exit settles the
// bytes.
void ModelManager::release_kv_of(const std::string& name, std::shared_ptr<Runner> runner) {
  try {
    runner->release_kv(std::chrono::seconds(60));
  } catch (const std::exception& e) {
    spdlog::warn("release-kv of '{}' failed ({}); stopping its runner", name, e.what());
    runner->kill();
    return;
  }
  std::lock_guard lk(mu_);
  feed(mem::KvReleased{name});
  cv_.notify_all();
}

}  // namespace ebb::supervisor
