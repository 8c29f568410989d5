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
#include <optional>
#include <string>
#include <vector>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/shared_blob.h"
#include "supervisor/request_stream.h"

namespace ebb::supervisor {

class RunnerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RunnerProcess : public std::enable_shared_from_this<RunnerProcess> {
 public:
  using ExitCallback = std::function<void(RunnerProcess&)>;
  // KV snapshot traffic (docs/protocol.md): the runner hands over snapshots before it frees
  // a context, and asks for one when a prompt may continue an earlier conversation.
  struct SnapshotHooks {
    std::function<void(const nlohmann::json& header, std::shared_ptr<const SharedBlob> state)> on_snapshot;
    // Returns {tokens, state} of the best snapshot for these prompt tokens, or nothing.
    // `have`: how many prompt tokens the runner's own slots already hold.
    std::function<std::optional<std::pair<std::vector<int32_t>, std::shared_ptr<const SharedBlob>>>(
        const std::vector<int32_t>& prompt, size_t have)>
        find;
  };

  // Forks `exe runner --fd 3`. The child dies with us (PR_SET_PDEATHSIG).
  // The process lives until stop() or its own exit; dropping the last reference does not kill it.
  static std::shared_ptr<RunnerProcess> spawn(const std::string& exe, ExitCallback on_exit = {}, SnapshotHooks hooks = {});
  ~RunnerProcess();

  // Sends the load request and waits for "ready" (returned) or throws RunnerError with the reason.
  nlohmann::json load(const nlohmann::json& params, std::chrono::milliseconds timeout);

  // Starts a request; `msg` is a "generate" (the default type) or "embed" message without "id".
  std::shared_ptr<RequestStream> submit(nlohmann::json msg);
  void cancel(uint64_t id);
  // Frees the runner's context (KV + compute) and waits for the new memory report.
  nlohmann::json release_kv(std::chrono::milliseconds timeout);

  // Gives a pre-spawned runner its owner's callbacks (before it is loaded).
  void attach(ExitCallback on_exit, SnapshotHooks hooks);

  // Waits for the runner's hello (it carries the idle process's memory: the baseline).
  nlohmann::json wait_hello(std::chrono::milliseconds timeout);
  // Has the idle runner create its GPU context(s) (init_gpu) and waits for gpu_ready.
  nlohmann::json init_gpu(std::chrono::milliseconds timeout);
  // Has the idle runner load and decode a tiny model, and returns its "calibrated" report
  // (code_bytes, or error).
  nlohmann::json calibrate(std::chrono::milliseconds timeout);
  // The same without waiting: a pre-spawned runner gets its GPU context before it is needed.
  bool start_gpu_init() { return send({{"type", "init_gpu"}}); }
  // Recreates a freed context (warm → ready) with num_ctx per slot; returns the new "ready".
  nlohmann::json create_context(uint32_t num_ctx, std::chrono::milliseconds timeout);
  // Asks for process and memory statistics.
  nlohmann::json stats(std::chrono::milliseconds timeout);

  // Asks the runner to exit (saving snapshots first when `save`), then SIGKILLs it after
  // `grace`. Blocks until it is reaped and the exit callback has run.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000), bool save = false);
  void kill();
  // The runner's own measurement before loading (RSS of an idle runner): the per-runner baseline.
  nlohmann::json hello() const;

  pid_t pid() const { return pid_; }
  bool alive() const { return alive_.load(); }
  std::string exit_reason() const;
  size_t in_flight() const;

 private:
  RunnerProcess(pid_t pid, int fd, ExitCallback on_exit, SnapshotHooks hooks);
  void reader_loop();
  void on_message(const nlohmann::json& m);
  void fail_all(const std::string& why);
  void answer_snapshot_request(const nlohmann::json& m);
  bool send(const nlohmann::json& m);
  // Waits for a control reply of `type` (or exit) and returns it.
  nlohmann::json wait_control(const std::string& type, std::chrono::milliseconds timeout);

  pid_t pid_;
  int fd_;
  ExitCallback on_exit_;
  SnapshotHooks hooks_;
  std::optional<nlohmann::json> pending_snapshot_;  // header waiting for its binary frame
  nlohmann::json hello_;
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
