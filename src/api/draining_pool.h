#pragma once
// httplib's worker pool with a drain: shutdown() waits for the connections in progress (up to a
// deadline), then runs a hook while every worker thread still lives, and only then ends them.
// The hook stops the runners: a runner dies with the thread that spawned it (PR_SET_PDEATHSIG),
// and HTTP workers spawn runners, so the workers must outlive the runners' orderly stop.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <httplib.h>

namespace ebb::api {

// What a drain waits for and does; set by HttpServer::drain before it closes the listener.
struct DrainPlan {
  std::mutex mutex;
  std::optional<std::chrono::steady_clock::time_point> deadline;  // unset: no drain, end at once
  std::function<void()> before_workers_end;
};

class DrainingPool : public httplib::TaskQueue {
 public:
  DrainingPool(size_t threads, std::shared_ptr<DrainPlan> plan);
  ~DrainingPool() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void work();
  // Waits until no job is queued or running, or until `until`; true when idle.
  bool wait_idle(std::chrono::steady_clock::time_point until);

  std::shared_ptr<DrainPlan> plan_;
  std::mutex mutex_;
  std::condition_variable job_queued_;  // a worker may take a job (or end)
  std::condition_variable idle_;        // nothing queued or running
  std::deque<std::function<void()>> jobs_;
  size_t running_ = 0;
  bool ending_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ebb::api
