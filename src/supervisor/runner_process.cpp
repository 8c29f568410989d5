#include "supervisor/runner_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

#include "common/protocol.h"

namespace ebb::supervisor {

using json = nlohmann::json;
namespace proto = ebb::protocol;

std::shared_ptr<RunnerProcess> RunnerProcess::spawn(const std::string& exe, ExitCallback on_exit, SnapshotHooks hooks) {
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
  std::shared_ptr<RunnerProcess> p(new RunnerProcess(pid, sv[0], std::move(on_exit), std::move(hooks)));
  // The reader thread owns a reference: the object lives until the runner is reaped and
  // every in-flight request has been told, however the owners drop it.
  std::thread([p] { p->reader_loop(); }).detach();
  return p;
}

RunnerProcess::RunnerProcess(pid_t pid, int fd, ExitCallback on_exit, SnapshotHooks hooks)
    : pid_(pid), fd_(fd), on_exit_(std::move(on_exit)), hooks_(std::move(hooks)) {}

RunnerProcess::~RunnerProcess() { ::close(fd_); }

bool RunnerProcess::send(const json& m) {
  std::lock_guard lk(send_mu_);
  return proto::send_json(fd_, m);
}

void RunnerProcess::reader_loop() {
  proto::FrameDecoder dec;
  try {
    while (auto f = proto::read_frame(fd_, dec)) {
      if (f->kind != proto::FrameKind::Json) {
        if (f->blob && pending_snapshot_ && hooks_.on_snapshot) hooks_.on_snapshot(*pending_snapshot_, std::move(f->blob));
        pending_snapshot_.reset();
        continue;
      }
      auto m = json::parse(f->payload, nullptr, false);
      if (m.is_object()) on_message(m);
    }
  } catch (const std::exception& e) {
    spdlog::error("runner {}: protocol error: {}", pid_, e.what());
    ::kill(pid_, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  std::string why;
  if (WIFSIGNALED(status))
    why = std::string("runner was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  else
    why = "runner exited with status " + std::to_string(WEXITSTATUS(status));
  spdlog::debug("runner {}: {}", pid_, why);
  {
    std::lock_guard lk(mu_);
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

void RunnerProcess::on_message(const json& m) {
  std::string type = m.value("type", "");
  if (type == "token" || type == "accepted" || type == "done" || type == "embeddings" || type == "error") {
    uint64_t id = m.value("id", uint64_t{0});
    std::shared_ptr<RequestStream> s;
    {
      std::lock_guard lk(mu_);
      auto it = streams_.find(id);
      if (it == streams_.end()) return;
      s = it->second;
      if (type != "token" && type != "accepted") streams_.erase(it);
    }
    if (type == "token" || type == "accepted")  // accepted: a token with no text
      s->push({StreamEvent::Kind::Token, m.value("text", ""), {}});
    else if (type == "done" || type == "embeddings")
      s->push({StreamEvent::Kind::Done, "", m});
    else  // the whole message: it may carry "status"
      s->push({StreamEvent::Kind::Error, m.value("message", "runner error"), m});
    return;
  }
  if (type == "snapshot") {
    auto tokens = m.find("tokens");  // no copy of the token list for a log line
    spdlog::debug("runner {}: snapshot of {} tokens", pid_, tokens != m.end() ? tokens->size() : 0);
    pending_snapshot_ = m;
    return;
  }
  if (type == "want_snapshot") {
    answer_snapshot_request(m);
    return;
  }
  {
    std::lock_guard lk(mu_);
    if (type == "hello") hello_ = m;
    control_[type] = m;
  }
  control_cv_.notify_all();
}

void RunnerProcess::answer_snapshot_request(const json& m) {
  json reply = {{"type", "restore"}, {"id", m.value("id", uint64_t{0})}, {"found", false}};
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
  for (auto& [id, s] : streams) s->push({StreamEvent::Kind::Error, why, {}});
}

json RunnerProcess::wait_control(const std::string& type, std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  bool got = control_cv_.wait_for(lk, timeout, [&] { return control_.count(type) || !alive_; });
  if (auto it = control_.find(type); it != control_.end()) {
    json m = std::move(it->second);
    control_.erase(it);
    return m;
  }
  if (!got) throw RunnerError("runner did not answer '" + type + "' within " + std::to_string(timeout.count()) + " ms");
  throw RunnerError(exit_reason_.empty() ? "runner exited" : exit_reason_);
}

json RunnerProcess::load(const json& params, std::chrono::milliseconds timeout) {
  wait_hello(timeout);
  json msg = params;
  msg["type"] = "load";
  if (!send(msg)) throw RunnerError("runner is gone");
  std::unique_lock lk(mu_);
  control_cv_.wait_for(lk, timeout, [&] { return control_.count("ready") || control_.count("load_error") || !alive_; });
  if (auto it = control_.find("ready"); it != control_.end()) {
    json m = std::move(it->second);
    control_.erase(it);
    return m;
  }
  if (auto it = control_.find("load_error"); it != control_.end()) throw RunnerError(it->second.value("message", "load failed"));
  if (!alive_) throw RunnerError(exit_reason_);
  throw RunnerError("runner did not finish loading within " + std::to_string(timeout.count() / 1000) + " s");
}

std::shared_ptr<RequestStream> RunnerProcess::submit(json msg) {
  std::shared_ptr<RequestStream> s;
  {
    std::lock_guard lk(mu_);
    if (!alive_) throw RunnerError(exit_reason_.empty() ? "runner is gone" : exit_reason_);
    s = std::make_shared<RequestStream>(next_id_++);
    streams_[s->id()] = s;
  }
  if (!msg.contains("type")) msg["type"] = "generate";
  msg["id"] = s->id();
  if (!send(msg)) {
    std::lock_guard lk(mu_);
    streams_.erase(s->id());
    throw RunnerError("runner is gone");
  }
  return s;
}

void RunnerProcess::cancel(uint64_t id) { send({{"type", "cancel"}, {"id", id}}); }

json RunnerProcess::release_kv(std::chrono::milliseconds timeout) {
  if (!send({{"type", "release_kv"}})) throw RunnerError("runner is gone");
  return wait_control("kv_released", timeout);
}

json RunnerProcess::init_gpu(std::chrono::milliseconds timeout) {
  if (!send({{"type", "init_gpu"}})) throw RunnerError("runner is gone");
  return wait_control("gpu_ready", timeout);
}

json RunnerProcess::calibrate(std::chrono::milliseconds timeout) {
  if (!send({{"type", "calibrate"}})) throw RunnerError("runner is gone");
  return wait_control("calibrated", timeout);
}

json RunnerProcess::wait_hello(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  control_cv_.wait_for(lk, timeout, [&] { return !hello_.is_null() || !alive_; });
  if (hello_.is_null()) throw RunnerError(alive_ ? "runner did not say hello" : exit_reason_);
  return hello_;
}

json RunnerProcess::create_context(uint32_t num_ctx, std::chrono::milliseconds timeout) {
  if (!send({{"type", "create_context"}, {"num_ctx", num_ctx}})) throw RunnerError("runner is gone");
  return wait_control("ready", timeout);
}

json RunnerProcess::stats(std::chrono::milliseconds timeout) {
  if (!send({{"type", "stats"}})) throw RunnerError("runner is gone");
  return wait_control("stats", timeout);
}

json RunnerProcess::hello() const {
  std::lock_guard lk(mu_);
  return hello_;
}

void RunnerProcess::kill() { ::kill(pid_, SIGKILL); }

void RunnerProcess::attach(ExitCallback on_exit, SnapshotHooks hooks) {
  std::lock_guard lk(mu_);
  on_exit_ = std::move(on_exit);
  hooks_ = std::move(hooks);
}

void RunnerProcess::stop(std::chrono::milliseconds grace, bool save) {
  send({{"type", "shutdown"}, {"save", save}});
  std::unique_lock lk(mu_);
  if (!reaped_cv_.wait_for(lk, grace, [&] { return reaped_; })) {
    ::kill(pid_, SIGKILL);
    reaped_cv_.wait(lk, [&] { return reaped_; });
  }
}

std::string RunnerProcess::exit_reason() const {
  std::lock_guard lk(mu_);
  return exit_reason_;
}

size_t RunnerProcess::in_flight() const {
  std::lock_guard lk(mu_);
  return streams_.size();
}

}  // namespace ebb::supervisor
