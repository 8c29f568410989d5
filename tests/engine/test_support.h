#pragma once
// Shared by the engine tests: synthetic models made by `ebb synth`, running `ebb` commands, and a
// client that drives a real `ebb runner --fd N` child over a socketpair.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../common/run_command.h"
#include "../common/scratch_dir.h"
#include "common/protocol.h"

namespace ebb::test {

using json = nlohmann::json;
namespace fs = std::filesystem;
namespace proto = ebb::protocol;

// Runs a shell command; returns stdout and sets `rc` to its exit status.
inline std::string run_capture(const std::string& cmd, int* rc = nullptr) { return run_command(cmd, rc); }

// A 20M-param synthetic model (trained ctx 8192), written once per quant type and test binary.
inline std::string model_20m(const std::string& quant = "q8_0") {
  static const fs::path dir = scratch_dir("ebb-engine-test");
  fs::path out = dir / ("m20-" + quant + ".gguf");
  if (!fs::exists(out)) {
    int rc = 0;
    run_capture(std::string(EBB_BIN) + " synth --out " + out.string() + " --params 20M --quant " + quant +
                    " --seed 1 >/dev/null",
                &rc);
    if (rc != 0) throw std::runtime_error("ebb synth failed");
  }
  return out.string();
}

// A real `ebb runner --fd N` child.
class RunnerClient {
 public:
  RunnerClient() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw std::runtime_error("socketpair");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(sv[1], 3);  // dup2 clears CLOEXEC on the new descriptor
      ::execl(EBB_BIN, "ebb", "runner", "--fd", "3", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(sv[1]);
    fd_ = sv[0];
  }
  ~RunnerClient() {
    ::close(fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  RunnerClient(const RunnerClient&) = delete;
  RunnerClient& operator=(const RunnerClient&) = delete;

  pid_t pid() const { return pid_; }
  void send(const json& m) { ASSERT_TRUE(proto::send_json(fd_, m)); }
  // A JSON-kind frame with any payload, parseable or not.
  void send_raw(const std::string& payload) {
    ASSERT_TRUE(proto::write_all(fd_, proto::encode_frame(proto::FrameKind::Json, payload)));
  }
  // Bytes as a sealed shared-memory frame, the way the supervisor sends a snapshot.
  void send_blob(const std::string& b) {
    auto blob = SharedBlob::create(b.size());
    std::memcpy(blob->data(), b.data(), b.size());
    blob->seal(b.size());
    send_shared(*blob);
  }
  void send_shared(const SharedBlob& blob) { ASSERT_TRUE(proto::send_shared(fd_, blob)); }

  // The next frame, or nullopt after `timeout` or at EOF.
  std::optional<proto::Frame> next(std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto f = decoder_.next()) return f;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      if (proto::receive(fd_, decoder_) <= 0) return std::nullopt;
    }
  }

  // The next JSON message (a binary frame here is a test failure).
  json next_json() {
    auto f = next();
    if (!f) {
      ADD_FAILURE() << "runner sent nothing";
      return json::object();
    }
    EXPECT_EQ(f->kind, proto::FrameKind::Json);
    return json::parse(f->payload, nullptr, false);
  }

  // Skips messages until one of `type` arrives (tokens are collected into `text`).
  json wait_for(const std::string& type, std::string* text = nullptr) {
    for (;;) {
      json m = next_json();
      if (!m.is_object() || m.empty()) return json::object();
      if (m.value("type", "") == type) return m;
      if (text && m.value("type", "") == "token") *text += m.value("text", "");
    }
  }

  // hello + load → ready.
  json load(const json& params) {
    json hello = wait_for("hello");
    EXPECT_TRUE(hello.contains("process"));
    hello_ = hello;
    json m = params;
    m["type"] = "load";
    send(m);
    return wait_for("ready");
  }
  const json& hello() const { return hello_; }

  // A generate that runs to its "done"; the streamed text lands in `text`.
  json generate(json msg, std::string* text) {
    msg["type"] = "generate";
    send(msg);
    return wait_for("done", text);
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  proto::FrameDecoder decoder_;
  json hello_;
};

}  // namespace ebb::test
