#pragma once
// A spawned `ebb runner` child and the socket to it. A reader thread dispatches the
// runner's messages to per-request streams; EOF means the runner is gone, and every
// in-flight request gets an error at once.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "supervisor/request_stream.h"

namespace ebb::supervisor {

class RunnerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RunnerProcess : public std::enable_shared_from_this<RunnerProcess> {
 public:
  using ExitCallback = std::function<void(RunnerProcess&)>;

  // Forks `exe runner --fd 3`. The child dies with us (PR_SET_PDEATHSIG).
  // The process lives until stop() or its own exit; dropping the last reference does not kill it.
  static std::shared_ptr<RunnerProcess> spawn(const std::string& exe, ExitCallback on_exit = {});
  ~RunnerProcess();

  // Sends the load request and waits for "ready" (returned) or throws RunnerError with the reason.
  nlohmann::json load(const nlohmann::json& params, std::chrono::milliseconds timeout);

  // Starts a generation; `msg` is a generate message without "id".
  std::shared_ptr<RequestStream> submit(nlohmann::json msg);
  void cancel(uint64_t id);
  // Frees the runner's context (KV + compute) and waits for the new memory report.
  nlohmann::json release_kv(std::chrono::milliseconds timeout);

  // Asks the runner to exit, then SIGKILLs it after `grace`. Blocks until it is reaped.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  pid_t pid() const { return pid_; }
  bool alive() const { return alive_.load(); }
  std::string exit_reason() const;
  size_t in_flight() const;

 private:
  RunnerProcess(pid_t pid, int fd, ExitCallback on_exit);
  void reader_loop();
  void on_message(const nlohmann::json& m);
  void fail_all(const std::string& why);
  bool send(const nlohmann::json& m);
  // Waits for a control reply of `type` (or exit) and returns it.
  nlohmann::json wait_control(const std::string& type, std::chrono::milliseconds timeout);

  pid_t pid_;
  int fd_;
  ExitCallback on_exit_;
  std::atomic<bool> alive_{true};
  std::mutex send_mu_;
  mutable std::mutex mu_;
  std::condition_variable control_cv_;
  std::map<std::string, nlohmann::json> control_;  // latest control message by type
  std::map<uint64_t, std::shared_ptr<RequestStream>> streams_;
  uint64_t next_id_ = 1;
  std::string exit_reason_;
  bool reaped_ = false;
  std::condition_variable reaped_cv_;
};

}  // namespace ebb::supervisor
