#include "api/draining_pool.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

namespace ebb::api {

using Clock = std::chrono::steady_clock;

DrainingPool::DrainingPool(size_t threads, std::shared_ptr<DrainPlan> plan) : plan_(std::move(plan)) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

DrainingPool::~DrainingPool() {
  {
    std::lock_guard lk(mutex_);
    ending_ = true;
  }
  job_queued_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void DrainingPool::enqueue(std::function<void()> fn) {
  {
    std::lock_guard lk(mutex_);
    jobs_.push_back(std::move(fn));
  }
  job_queued_.notify_one();
}

void DrainingPool::work() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lk(mutex_);
      job_queued_.wait(lk, [&] { return !jobs_.empty() || ending_; });
      if (jobs_.empty()) return;  // ending_, and nothing left to run
      fn = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    fn();
    std::lock_guard lk(mutex_);
    if (--running_ == 0 && jobs_.empty()) idle_.notify_all();
  }
}

bool DrainingPool::wait_idle(Clock::time_point until) {
  std::unique_lock lk(mutex_);
  return idle_.wait_until(lk, until, [&] { return jobs_.empty() && running_ == 0; });
}

void DrainingPool::shutdown() {
  std::optional<Clock::time_point> deadline;
  std::function<void()> hook;
  {
    std::lock_guard lk(plan_->mutex);
    deadline = plan_->deadline;
    hook = std::move(plan_->before_workers_end);
  }
  if (deadline && !wait_idle(*deadline)) spdlog::warn("shutdown: requests still running at the shutdown timeout");
  if (hook) hook();
  // Requests that outlived the timeout ended with their runners; one that needs no runner (an
  // upload, a pull) gets a last moment, then the process leaves without it. The moment outlasts
  // httplib's keep-alive wait, so idle kept-alive connections end on their own first.
  constexpr auto kLastMoment = std::chrono::seconds(CPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND + 1);
  if (deadline && !wait_idle(Clock::now() + kLastMoment)) {
    spdlog::warn("shutdown: exiting with requests unfinished");
    spdlog::shutdown();
    ::_exit(0);
  }
  {
    std::lock_guard lk(mutex_);
    ending_ = true;
  }
  job_queued_.notify_all();
  for (auto& t : threads_) t.join();
}

}  // namespace ebb::api
