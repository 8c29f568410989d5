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

// runner_timeout: the watchdog runs only while requests are in flight, any frame (a token, a
// finished batch's "progress") counts as progress, and a runner silent for longer is killed with
// its requests failing on that reason.
TEST(RunnerWatchdog, KillsOnlyARunnerThatStallsWithRequestsInFlight) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::atomic<bool> exited{false};
  auto runner = RunnerProcess::over_socket(
      sv[0], [&](Runner&) { exited = true; }, {}, 300ms);
  Peer peer(sv[1]);
  peer.send({{"type", "hello"}, {"protocol", 2}, {"process", {{"rss", 4096}}}});
  // Idle: silent for more than twice the timeout, and not killed (a kill shuts the socket down,
  // which the peer would read as the end of the stream).
  EXPECT_FALSE(peer.readable_within(700ms));
  EXPECT_TRUE(runner->alive());

  auto stream = runner->submit({{"prompt", "long"}});
  json generate = peer.read();
  ASSERT_EQ(generate["type"], "generate");
  // A long prefill: only "progress" for three times the timeout, then a token.
  for (int i = 0; i < 9; ++i) {
    peer.send({{"type", "progress"}});
    std::this_thread::sleep_for(100ms);  // the pace of a runner's batches, not a wait for a condition
  }
  peer.send({{"type", "token"}, {"id", generate["id"]}, {"text", "a"}});
  auto token = stream->pop(5s);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->kind, StreamEvent::Kind::Token);
  EXPECT_TRUE(runner->alive());

  // Then silence: killed, and the request fails saying why.
  auto error = stream->pop(5s);
  ASSERT_TRUE(error);
  ASSERT_EQ(error->kind, StreamEvent::Kind::Error);
  EXPECT_NE(error->text.find("no progress for 0.3 s (runner_timeout)"), std::string::npos) << error->text;
  EXPECT_FALSE(runner->alive());
  runner->stop(5s);
  EXPECT_TRUE(exited);
  EXPECT_NE(runner->exit_reason().find("runner_timeout"), std::string::npos) << runner->exit_reason();
}

}  // namespace
}  // namespace ebb::supervisor
