#pragma once
// A runner without a process, for driving ModelManager in unit tests. Every fake belongs to one
// FakeRunners, which the test holds: it decides how loads end (at once, held until released, or
// failing), logs what each runner was asked ("load a", "release_kv a", "stop a"), and runs exit
// callbacks on their own threads, as a real runner's reader thread does.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "supervisor/runner.h"

namespace ebb::supervisor::testing {

class FakeRunners;

class FakeRunner : public Runner, public std::enable_shared_from_this<FakeRunner> {
 public:
  FakeRunner(FakeRunners& world, ExitCallback on_exit, SnapshotHooks hooks)
      : world_(world), on_exit_(std::move(on_exit)), hooks_(std::move(hooks)) {}

  void attach(ExitCallback on_exit, SnapshotHooks hooks) override;
  HelloReport wait_hello(Timeout) override { return {}; }
  ReadyReport load(const LoadRequest& request, Timeout timeout) override;
  ReadyReport create_context(uint32_t num_ctx, Timeout timeout) override;
  void release_kv(Timeout) override;
  void init_gpu(Timeout) override {}
  void start_gpu_init() override {}
  CalibrationReport calibrate(Timeout) override { return {uint64_t{0}, ""}; }
  std::shared_ptr<RequestStream> submit(nlohmann::json) override;
  void cancel(uint64_t) override {}
  void stop(Timeout grace, bool save) override;
  void kill() override { die("killed"); }
  pid_t pid() const override { return ::getpid(); }  // a process whose memory can be read
  bool alive() const override;
  std::string exit_reason() const override;

  // The runner ends as a crash would: its calls fail and its exit callback runs.
  void die(const std::string& why);
  std::string model() const;  // the path it was loaded with ("" before a load)

 private:
  friend class FakeRunners;
  void log(const std::string& what);  // caller holds world_.mu_

  FakeRunners& world_;
  ExitCallback on_exit_;
  SnapshotHooks hooks_;
  std::string path_;
  bool alive_ = true;
  bool exited_ = false;  // the exit callback has run
  std::string exit_reason_;
  uint64_t next_id_ = 1;
};

class FakeRunners {
 public:
  ~FakeRunners();
  RunnerFactory factory();

  // Loads (and context re-creations) wait until release_loads() while held.
  void hold_loads();
  void release_loads();
  // The next load fails with this message (the manager then kills the runner, as a real one exits).
  void fail_next_load(const std::string& message);
  // Every runner start throws this (as a failed fork would) until called with "".
  void fail_spawns(const std::string& message);

  // Waits (up to 10 s) until `pred` holds; pred runs under the fakes' lock.
  template <class Pred>
  bool wait_until(Pred pred) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds(10), [&] { return pred(*this); });
  }
  std::vector<std::string> log() const;
  int loads_started() const;
  std::shared_ptr<FakeRunner> runner_of(const std::string& model) const;  // the live one

  // Read by wait_until's predicates (under the lock).
  std::vector<std::string> log_;
  int loads_ = 0;

 private:
  friend class FakeRunner;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  std::deque<std::string> failures_;
  std::string spawn_failure_;
  std::vector<std::shared_ptr<FakeRunner>> runners_;
  std::vector<std::thread> exits_;
};

}  // namespace ebb::supervisor::testing
