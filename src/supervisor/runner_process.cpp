#include "supervisor/runner_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/protocol.h"

namespace ebb::supervisor {

using json = nlohmann::json;
namespace proto = ebb::protocol;
using proto::Msg;

namespace {

std::string seconds_text(Runner::Timeout t) { return std::to_string(t.count() / 1000) + " s"; }

int64_t steady_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

// "60 s", "1.5 s": runner_timeout as the error names it.
std::string duration_text(Runner::Timeout t) {
  if (t.count() % 1000 == 0) return seconds_text(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", t.count() / 1000.0);
  return buf;
}

}  // namespace

std::shared_ptr<RunnerProcess> RunnerProcess::spawn(const std::string& exe, ExitCallback on_exit, SnapshotHooks hooks,
                                                    Timeout progress_timeout) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    throw RunnerError(std::string("socketpair: ") + std::strerror(errno));
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::string arg0 = "ebb", arg1 = "runner", arg2 = "--fd", arg3 = "3";
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), arg3.data(), nullptr};
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    throw RunnerError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    if (::dup2(sv[1], 3) < 0) ::_exit(1);
    ::close_range(4, ~0U, 0);
    ::execv(exe.c_str(), argv);
    ::_exit(127);
  }
  ::close(sv[1]);
  return start(pid, sv[0], std::move(on_exit), std::move(hooks), progress_timeout);
}

std::shared_ptr<RunnerProcess> RunnerProcess::over_socket(int fd, ExitCallback on_exit, SnapshotHooks hooks,
                                                          Timeout progress_timeout) {
  return start(0, fd, std::move(on_exit), std::move(hooks), progress_timeout);
}

std::shared_ptr<RunnerProcess> RunnerProcess::start(pid_t pid, int fd, ExitCallback on_exit, SnapshotHooks hooks,
                                                    Timeout progress_timeout) {
  std::shared_ptr<RunnerProcess> p(new RunnerProcess(pid, fd, std::move(on_exit), std::move(hooks), progress_timeout));
  // The reader thread owns a reference: the object lives until the runner is reaped and
  // every in-flight request has been told, however the owners drop it.
  std::thread([p] { p->reader_loop(); }).detach();
  if (progress_timeout.count() > 0) std::thread([p] { p->watchdog_loop(); }).detach();
  return p;
}

RunnerProcess::RunnerProcess(pid_t pid, int fd, ExitCallback on_exit, SnapshotHooks hooks, Timeout progress_timeout)
    : pid_(pid), fd_(fd), progress_timeout_(progress_timeout), on_exit_(std::move(on_exit)), hooks_(std::move(hooks)) {
  mark_activity();
}

void RunnerProcess::mark_activity() { last_activity_ns_.store(steady_ns(), std::memory_order_relaxed); }

// Progress is any frame: a token, an answer, or a finished batch's "progress" (a long prefill
// sends one at least every 250 ms). Loads and control replies have timeouts of their own, so the
// clock runs only while requests are in flight, from the later of their last frame and the last
// request sent.
void RunnerProcess::watchdog_loop() {
  const Timeout tick = std::clamp(progress_timeout_ / 4, Timeout(50), Timeout(1000));
  std::unique_lock lk(mu_);
  while (!reaped_) {
    reaped_cv_.wait_for(lk, tick, [&] { return reaped_; });
    if (reaped_ || !alive_ || streams_.empty() || !stalled_.empty()) continue;
    const int64_t quiet_ns = steady_ns() - last_activity_ns_.load(std::memory_order_relaxed);
    if (quiet_ns < std::chrono::duration_cast<std::chrono::nanoseconds>(progress_timeout_).count()) continue;
    stalled_ = "runner made no progress for " + duration_text(progress_timeout_) +
               " (runner_timeout) with requests in flight, and was killed";
    spdlog::error("runner {}: {}", pid_, stalled_);
    kill();
  }
}

RunnerProcess::~RunnerProcess() { ::close(fd_); }

bool RunnerProcess::send(const json& m) {
  std::lock_guard lk(send_mu_);
  return proto::send_json(fd_, m);
}

void RunnerProcess::reader_loop() {
  proto::FrameDecoder dec;
  try {
    while (auto f = proto::read_frame(fd_, dec)) {
      mark_activity();
      if (f->kind != proto::FrameKind::Json) {
        if (f->blob && pending_snapshot_ && hooks_.on_snapshot)
          hooks_.on_snapshot(*pending_snapshot_, std::move(f->blob));
        pending_snapshot_.reset();
        continue;
      }
      auto m = json::parse(f->payload, nullptr, false);
      if (m.is_object()) on_message(m);
    }
  } catch (const std::exception& e) {
    spdlog::error("runner {}: protocol error: {}", pid_, e.what());
    kill();
  }
  std::string why = reap();
  spdlog::debug("runner {}: {}", pid_, why);
  {
    std::lock_guard lk(mu_);
    if (!stalled_.empty()) why = stalled_;
    exit_reason_ = why;
    alive_ = false;
  }
  control_cv_.notify_all();
  fail_all(why);
  ExitCallback on_exit;
  {
    std::lock_guard lk(mu_);
    on_exit = on_exit_;
  }
  if (on_exit) on_exit(*this);
  // Last: stop() returns only after the owner's exit callback has run.
  {
    std::lock_guard lk(mu_);
    reaped_ = true;
  }
  reaped_cv_.notify_all();
}

std::string RunnerProcess::reap() {
  if (pid_ <= 0) return "runner closed its socket";
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    return std::string("runner was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "runner exited with status " + std::to_string(WEXITSTATUS(status));
}

void RunnerProcess::on_message(const json& m) {
  const Msg type = proto::parse_msg(m.value("type", ""));
  switch (type) {
    case Msg::Token:
    case Msg::Accepted:
    case Msg::Done:
    case Msg::Embeddings:
    case Msg::Error: return end_stream(m.value("id", uint64_t{0}), type, m);
    case Msg::Snapshot: {
      auto tokens = m.find("tokens");  // no copy of the token list for a log line
      spdlog::debug("runner {}: snapshot of {} tokens", pid_, tokens != m.end() ? tokens->size() : 0);
      pending_snapshot_ = m;
      return;
    }
    case Msg::WantSnapshot: return answer_snapshot_request(m);
    case Msg::Progress: return;  // the reader has marked the activity
    case Msg::Hello: {
      std::lock_guard lk(mu_);
      hello_ = m;
      break;
    }
    default: return on_control_reply(type, m);
  }
  control_cv_.notify_all();
}

// A request's message: tokens go to its stream; its end (done, embeddings, error) closes it.
void RunnerProcess::end_stream(uint64_t id, Msg type, const json& m) {
  const bool token = type == Msg::Token || type == Msg::Accepted;  // accepted: a token with no text
  std::shared_ptr<RequestStream> s;
  {
    std::lock_guard lk(mu_);
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    s = it->second;
    if (!token) {
      streams_.erase(it);
      ++requests_ended_;
    }
  }
  if (!token) control_cv_.notify_all();  // a release_kv refused as busy may ask again
  if (token) {
    StreamEvent ev = StreamEvent::token(m.value("text", ""));
    ev.thinking = m.value("thinking", "");
    if (auto it = m.find("tool_calls"); it != m.end() && it->is_array()) ev.tool_calls = *it;
    if (auto it = m.find("logprobs"); it != m.end()) ev.logprobs = logprobs_from_wire(*it);
    s->push(std::move(ev));
  } else if (type == Msg::Done || type == Msg::Embeddings) {
    s->push(StreamEvent::done(m));
  } else {  // the whole message: it may carry "status"
    s->push(StreamEvent::error(m.value("message", "runner error"), m));
  }
}

void RunnerProcess::on_control_reply(Msg type, const json& m) {
  const uint64_t id = m.value("id", uint64_t{0});
  {
    std::lock_guard lk(mu_);
    if (awaited_.count(id)) {
      replies_[id] = m;
    } else {
      spdlog::debug("runner {}: dropped a '{}' (id {}) that nobody waits for", pid_, m.value("type", ""), id);
      return;
    }
  }
  control_cv_.notify_all();
}

void RunnerProcess::answer_snapshot_request(const json& m) {
  json reply = {{"type", proto::name(Msg::Restore)}, {"id", m.value("id", uint64_t{0})}, {"found", false}};
  std::optional<std::pair<std::vector<int32_t>, std::shared_ptr<const SharedBlob>>> found;
  if (hooks_.find && m.contains("tokens") && m["tokens"].is_array())
    found = hooks_.find(m["tokens"].get<std::vector<int32_t>>(), m.value("have", size_t{0}));
  std::lock_guard lk(send_mu_);
  if (!found) {
    proto::send_json(fd_, reply);
    return;
  }
  reply["found"] = true;
  reply["tokens"] = found->first;
  if (proto::send_json(fd_, reply)) proto::send_shared(fd_, *found->second);
}

void RunnerProcess::fail_all(const std::string& why) {
  std::map<uint64_t, std::shared_ptr<RequestStream>> streams;
  {
    std::lock_guard lk(mu_);
    streams.swap(streams_);
  }
  for (auto& [id, s] : streams) s->push(StreamEvent::error(why));
}

uint64_t RunnerProcess::send_control(Msg type, json fields) {
  uint64_t id;
  {
    std::lock_guard lk(mu_);
    id = next_id_++;
    awaited_.insert(id);
  }
  fields["type"] = proto::name(type);
  fields["id"] = id;
  if (!send(fields)) {
    std::lock_guard lk(mu_);
    awaited_.erase(id);
    throw RunnerError("runner is gone");
  }
  return id;
}

json RunnerProcess::await_reply(uint64_t id, Timeout timeout, const std::string& late) {
  std::unique_lock lk(mu_);
  bool got = control_cv_.wait_for(lk, timeout, [&] { return replies_.count(id) || !alive_; });
  awaited_.erase(id);
  if (auto it = replies_.find(id); it != replies_.end()) {
    json m = std::move(it->second);
    replies_.erase(it);
    return m;
  }
  if (!got) throw RunnerError(late);
  throw RunnerError(exit_reason_.empty() ? "runner exited" : exit_reason_);
}

json RunnerProcess::await_typed(uint64_t id, Msg want, Timeout timeout, const std::string& late) {
  json m = await_reply(id, timeout, late);
  const Msg got = proto::parse_msg(m.value("type", ""));
  if (got == want) return m;
  if (got == Msg::LoadError) throw RunnerError(m.value("message", "load failed"));
  throw RunnerError("runner answered '" + m.value("type", "") + "' instead of '" + std::string(proto::name(want)) +
                    "'");
}

HelloReport RunnerProcess::wait_hello(Timeout timeout) {
  std::unique_lock lk(mu_);
  control_cv_.wait_for(lk, timeout, [&] { return !hello_.is_null() || !alive_; });
  if (hello_.is_null()) throw RunnerError(alive_ ? "runner did not say hello" : exit_reason_);
  return HelloReport::from_json(hello_);
}

ReadyReport RunnerProcess::load(const LoadRequest& request, Timeout timeout) {
  wait_hello(timeout);
  uint64_t id = send_control(Msg::Load, request.to_json());
  return ReadyReport::from_json(
      await_typed(id, Msg::Ready, timeout, "runner did not finish loading within " + seconds_text(timeout)));
}

ReadyReport RunnerProcess::create_context(uint32_t num_ctx, Timeout timeout) {
  uint64_t id = send_control(Msg::CreateContext, {{"num_ctx", num_ctx}});
  return ReadyReport::from_json(await_typed(
      id, Msg::Ready, timeout, "runner did not answer 'ready' within " + std::to_string(timeout.count()) + " ms"));
}

// The runner refuses ("busy") while a request is still queued or running in it. Every request it
// has ends with done, embeddings or error, so it is asked again after each such end, until the
// deadline: no polling.
void RunnerProcess::release_kv(Timeout timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string late = "runner did not answer 'kv_released' within " + std::to_string(timeout.count()) + " ms";
  for (;;) {
    uint64_t ended_before;
    {
      std::lock_guard lk(mu_);
      ended_before = requests_ended_;
    }
    auto left = std::chrono::duration_cast<Timeout>(deadline - std::chrono::steady_clock::now());
    json m = await_typed(send_control(Msg::ReleaseKv), Msg::KvReleased, std::max(left, Timeout{0}), late);
    if (!m.contains("error")) return;
    std::string error = m["error"].is_string() ? m["error"].get<std::string>() : m["error"].dump();
    if (error != "busy") throw RunnerError(error);
    std::unique_lock lk(mu_);
    if (!control_cv_.wait_until(lk, deadline, [&] { return requests_ended_ != ended_before || !alive_; }))
      throw RunnerError("runner stayed busy for " + std::to_string(timeout.count()) + " ms");
    if (!alive_) throw RunnerError(exit_reason_.empty() ? "runner exited" : exit_reason_);
  }
}

void RunnerProcess::init_gpu(Timeout timeout) {
  await_typed(send_control(Msg::InitGpu), Msg::GpuReady, timeout,
              "runner did not answer 'gpu_ready' within " + std::to_string(timeout.count()) + " ms");
}

void RunnerProcess::start_gpu_init() {
  try {
    send_control(Msg::InitGpu);  // nobody waits: its gpu_ready is dropped
  } catch (const RunnerError&) {
    // gone already: its exit is noticed by the reader
  }
}

CalibrationReport RunnerProcess::calibrate(Timeout timeout) {
  return CalibrationReport::from_json(
      await_typed(send_control(Msg::Calibrate), Msg::Calibrated, timeout,
                  "runner did not answer 'calibrated' within " + std::to_string(timeout.count()) + " ms"));
}

std::shared_ptr<RequestStream> RunnerProcess::submit(json msg) {
  mark_activity();  // the watchdog's clock starts now, not at the last frame of an idle runner
  std::shared_ptr<RequestStream> s;
  {
    std::lock_guard lk(mu_);
    if (!alive_) throw RunnerError(exit_reason_.empty() ? "runner is gone" : exit_reason_);
    s = std::make_shared<RequestStream>(next_id_++);
    streams_[s->id()] = s;
  }
  if (!msg.contains("type")) msg["type"] = proto::name(Msg::Generate);
  msg["id"] = s->id();
  if (!send(msg)) {
    std::lock_guard lk(mu_);
    streams_.erase(s->id());
    throw RunnerError("runner is gone");
  }
  return s;
}

void RunnerProcess::cancel(uint64_t id) { send({{"type", proto::name(Msg::Cancel)}, {"id", id}}); }

void RunnerProcess::kill() {
  if (pid_ > 0)
    ::kill(pid_, SIGKILL);
  else
    ::shutdown(fd_, SHUT_RDWR);
}

void RunnerProcess::attach(ExitCallback on_exit, SnapshotHooks hooks) {
  std::lock_guard lk(mu_);
  on_exit_ = std::move(on_exit);
  hooks_ = std::move(hooks);
}

void RunnerProcess::stop(Timeout grace, bool save) {
  send({{"type", proto::name(Msg::Shutdown)}, {"save", save}});
  std::unique_lock lk(mu_);
  if (!reaped_cv_.wait_for(lk, grace, [&] { return reaped_; })) {
    kill();
    reaped_cv_.wait(lk, [&] { return reaped_; });
  }
}

std::string RunnerProcess::exit_reason() const {
  std::lock_guard lk(mu_);
  return exit_reason_;
}

}  // namespace ebb::supervisor
