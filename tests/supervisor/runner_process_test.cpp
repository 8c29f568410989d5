// RunnerProcess over a socketpair, with this test as the runner: replies are matched by id, and a
// KV release refused as busy is asked again when a request ends. No process is started.
#include "supervisor/runner_process.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "common/protocol.h"

namespace ebb::supervisor {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// The runner's end of the socket.
class Peer {
 public:
  explicit Peer(int fd) : fd_(fd) {}
  ~Peer() { close(); }
  json read() {
    auto f = protocol::read_frame(fd_, dec_);
    return f ? json::parse(f->payload) : json();
  }
  void send(const json& m) { protocol::send_json(fd_, m); }
  // Whether a message arrives within `t` (the only way to see that one does not).
  bool readable_within(std::chrono::milliseconds t) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(t.count())) > 0;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  protocol::FrameDecoder dec_;
};

class RunnerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    runner = RunnerProcess::over_socket(sv[0], [this](Runner&) { exited = true; });
    peer = std::make_unique<Peer>(sv[1]);
    peer->send({{"type", "hello"}, {"protocol", 2}, {"process", {{"rss", 4096}}}});
  }
  void TearDown() override {
    peer->close();  // the runner "exits"
    runner->stop(5s);
    EXPECT_TRUE(exited);
    EXPECT_FALSE(runner->alive());
  }
  std::shared_ptr<RunnerProcess> runner;
  std::unique_ptr<Peer> peer;
  std::atomic<bool> exited{false};
};

TEST_F(RunnerProcessTest, ALateReplyDoesNotAnswerTheNextCaller) {
  EXPECT_EQ(runner->wait_hello(5s).rss, 4096u);
  EXPECT_THROW(runner->create_context(111, 20ms), RunnerError);  // nobody answers in time
  json first = peer->read();
  EXPECT_EQ(first["type"], "create_context");
  std::thread answer([&] {
    json second = peer->read();
    EXPECT_NE(second["id"], first["id"]);
    // The answer to the attempt that timed out comes first, then the one to the new call.
    peer->send({{"type", "ready"}, {"id", first["id"]}, {"num_ctx", 111}});
    peer->send({{"type", "ready"}, {"id", second["id"]}, {"num_ctx", 222}});
  });
  EXPECT_EQ(runner->create_context(222, 5s).num_ctx, 222u);
  answer.join();
}

TEST_F(RunnerProcessTest, ALoadErrorAnswersTheLoadWithItsMessage) {
  std::thread answer([&] {
    json load = peer->read();
    EXPECT_EQ(load["type"], "load");
    EXPECT_EQ(load["path"], "/m.gguf");
    EXPECT_EQ(load["prompt_cache"], true);
    peer->send({{"type", "load_error"}, {"id", load["id"]}, {"message", "bad magic"}});
  });
  LoadRequest request;
  request.path = "/m.gguf";
  request.prompt_cache = true;
  try {
    runner->load(request, 5s);
    ADD_FAILURE() << "load succeeded";
  } catch (const RunnerError& e) {
    EXPECT_STREQ(e.what(), "bad magic");
  }
  answer.join();
}

TEST_F(RunnerProcessTest, AReleaseRefusedAsBusyIsAskedAgainWhenARequestEnds) {
  auto stream = runner->submit({{"prompt", "hi"}});
  json generate = peer->read();
  EXPECT_EQ(generate["type"], "generate");
  std::thread release([&] { runner->release_kv(5s); });
  json first = peer->read();
  EXPECT_EQ(first["type"], "release_kv");
  peer->send({{"type", "kv_released"}, {"id", first["id"]}, {"error", "busy"}});
  // No second ask while the request is still in the runner.
  EXPECT_FALSE(peer->readable_within(100ms));
  peer->send({{"type", "done"}, {"id", generate["id"]}, {"done_reason", "stop"}});
  json second = peer->read();
  EXPECT_EQ(second["type"], "release_kv");
  EXPECT_NE(second["id"], first["id"]);
  peer->send({{"type", "kv_released"}, {"id", second["id"]}, {"memory", {{"weights", 1}}}});
  release.join();
  auto done = stream->pop(5s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->kind, StreamEvent::Kind::Done);
}

TEST_F(RunnerProcessTest, ARunnerThatExitsFailsItsWaitingCall) {
  std::thread gone([&] {
    peer->read();  // the release_kv
    peer->close();
  });
  EXPECT_THROW(runner->release_kv(5s), RunnerError);
  gone.join();
}

}  // namespace
}  // namespace ebb::supervisor
