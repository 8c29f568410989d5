#pragma once
// A spawned `ebb runner` child and the socket to it. A reader thread dispatches the
// runner's messages: request messages to per-request streams, control replies to the caller
// waiting for that id. EOF means the runner is gone, and every in-flight request gets an error
// at once.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/messages.h"
#include "supervisor/runner.h"

namespace ebb::supervisor {

class RunnerProcess : public Runner, public std::enable_shared_from_this<RunnerProcess> {
 public:
  // Forks `exe runner --fd 3`. The child dies with us (PR_SET_PDEATHSIG).
  // The process lives until stop() or its own exit; dropping the last reference does not kill it.
  // `progress_timeout` (runner_timeout; 0: none): while requests are in flight, a runner that
  // sends nothing for this long (not a token, not a finished batch's "progress") is killed, and
  // its requests fail saying so.
  static std::shared_ptr<RunnerProcess> spawn(const std::string& exe, ExitCallback on_exit = {},
                                              SnapshotHooks hooks = {}, Timeout progress_timeout = Timeout(0));
  // A runner at the other end of `fd` with no process of ours (tests speak the protocol there):
  // kill() shuts the socket down, and its end is the peer closing it. Takes `fd`.
  static std::shared_ptr<RunnerProcess> over_socket(int fd, ExitCallback on_exit = {}, SnapshotHooks hooks = {},
                                                    Timeout progress_timeout = Timeout(0));
  ~RunnerProcess() override;

  void attach(ExitCallback on_exit, SnapshotHooks hooks) override;
  HelloReport wait_hello(Timeout timeout) override;
  ReadyReport load(const LoadRequest& request, Timeout timeout) override;
  ReadyReport create_context(uint32_t num_ctx, Timeout timeout) override;
  void release_kv(Timeout timeout) override;
  void init_gpu(Timeout timeout) override;
  void start_gpu_init() override;
  CalibrationReport calibrate(Timeout timeout) override;

  std::shared_ptr<RequestStream> submit(nlohmann::json msg) override;
  void cancel(uint64_t id) override;

  void stop(Timeout grace = std::chrono::milliseconds(2000), bool save = false) override;
  void kill() override;

  pid_t pid() const override { return pid_; }
  bool alive() const override { return alive_.load(); }
  std::string exit_reason() const override;

 private:
  RunnerProcess(pid_t pid, int fd, ExitCallback on_exit, SnapshotHooks hooks, Timeout progress_timeout);
  static std::shared_ptr<RunnerProcess> start(pid_t pid, int fd, ExitCallback on_exit, SnapshotHooks hooks,
                                              Timeout progress_timeout);
  void reader_loop();
  void watchdog_loop();  // kills a runner that stalls with requests in flight
  void mark_activity();
  std::string reap();  // waits for the child; why it ended
  void on_message(const nlohmann::json& m);
  void on_control_reply(protocol::Msg type, const nlohmann::json& m);
  void end_stream(uint64_t id, protocol::Msg type, const nlohmann::json& m);
  void fail_all(const std::string& why);
  void answer_snapshot_request(const nlohmann::json& m);
  bool send(const nlohmann::json& m);
  // Sends a control message under a fresh id (from the request counter) and returns that id;
  // its reply is kept for await_reply. Throws RunnerError when the runner is gone.
  uint64_t send_control(protocol::Msg type, nlohmann::json fields = nlohmann::json::object());
  // The reply to control message `id`, or RunnerError (`late` says what timed out, else the exit).
  // Either way `id` is forgotten: a reply arriving later is dropped.
  nlohmann::json await_reply(uint64_t id, Timeout timeout, const std::string& late);
  // await_reply, and the reply must be of type `want` (load_error answers with its message).
  nlohmann::json await_typed(uint64_t id, protocol::Msg want, Timeout timeout, const std::string& late);

  pid_t pid_;  // 0: no process of ours (over_socket)
  int fd_;
  const Timeout progress_timeout_;
  // The last frame from the runner or request sent to it (steady clock, ns): the watchdog's clock.
  std::atomic<int64_t> last_activity_ns_{0};
  ExitCallback on_exit_;
  SnapshotHooks hooks_;
  std::optional<nlohmann::json> pending_snapshot_;  // header waiting for its binary frame
  std::atomic<bool> alive_{true};
  std::mutex send_mu_;
  mutable std::mutex mu_;
  // Guarded by mu_:
  nlohmann::json hello_;
  std::condition_variable control_cv_;          // a reply, a request's end, or the exit
  std::set<uint64_t> awaited_;                  // control ids someone waits for
  std::map<uint64_t, nlohmann::json> replies_;  // their replies, until taken
  uint64_t requests_ended_ = 0;                 // done / embeddings / error so far (release_kv waits on it)
  std::map<uint64_t, std::shared_ptr<RequestStream>> streams_;
  uint64_t next_id_ = 1;  // requests and control messages alike
  std::string exit_reason_;
  std::string stalled_;  // set when the watchdog killed it: the exit reason then
  bool reaped_ = false;
  std::condition_variable reaped_cv_;
};

}  // namespace ebb::supervisor
