#pragma once
// Threads their owner joins. Each task gets its own thread, since a KV release or a runner's stop
// may wait seconds for the runner and must not hold up another; finished threads are joined when
// the next task starts, and join_all() waits for every task, including those started meanwhile.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace ebb::supervisor {

class TaskGroup {
 public:
  TaskGroup() = default;
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  ~TaskGroup() { join_all(); }

  void run(std::function<void()> task);
  void join_all();
  size_t running() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 0;
  std::map<uint64_t, std::thread> running_;
  std::vector<std::thread> finished_;  // their tasks are done; only the join is left
};

}  // namespace ebb::supervisor
