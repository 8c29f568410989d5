#include "supervisor/task_group.h"

namespace ebb::supervisor {

void TaskGroup::run(std::function<void()> task) {
  std::vector<std::thread> done;
  {
    std::lock_guard lk(mu_);
    done.swap(finished_);
    const uint64_t id = next_++;
    // The thread files itself under finished_ as its last step, under mu_, which this call holds
    // until it is in running_.
    running_[id] = std::thread([this, id, task = std::move(task)] {
      task();
      std::lock_guard lk2(mu_);
      if (auto it = running_.find(id); it != running_.end()) {
        finished_.push_back(std::move(it->second));
        running_.erase(it);
      }
    });
  }
  for (auto& t : done) t.join();  // their tasks are over: the join is immediate
}

void TaskGroup::join_all() {
  for (;;) {
    std::vector<std::thread> all;
    {
      std::lock_guard lk(mu_);
      for (auto& [id, t] : running_) all.push_back(std::move(t));
      running_.clear();
      for (auto& t : finished_) all.push_back(std::move(t));
      finished_.clear();
    }
    if (all.empty()) return;
    for (auto& t : all) t.join();
  }
}

size_t TaskGroup::running() const {
  std::lock_guard lk(mu_);
  return running_.size();
}

}  // namespace ebb::supervisor
