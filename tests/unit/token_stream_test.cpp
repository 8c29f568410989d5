// TokenStream: the streamed body of a generation. Once its first event is out, tokens go to the
// client on the pushing (runner reader) thread; the token writer refers to the HTTP thread's sink,
// so it must be gone whenever write_to returns. A real loopback socket stands in for the client.
#include "api/token_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "common/scope_exit.h"

namespace {

using ebb::api::ClientWatch;
using ebb::api::ResponseShape;
using ebb::api::RunnerCall;
using ebb::api::Timing;
using ebb::api::TokenStream;
using ebb::supervisor::RequestStream;
using ebb::supervisor::StreamEvent;
using Kind = StreamEvent::Kind;
using namespace std::chrono_literals;

StreamEvent token(const std::string& t) { return StreamEvent::token(t); }
StreamEvent accepted() { return token(""); }
StreamEvent done() { return StreamEvent::done({{"done_reason", "stop"}}); }

// Lines that show which event made them.
class TestShape : public ResponseShape {
 public:
  std::string content_type() const override { return "text/test"; }
  std::string chunk(const ebb::MessageDelta& d) const override { return "chunk " + d.content + "\n"; }
  std::string final(const nlohmann::json& d, Timing) const override {
    return "final " + d.value("done_reason", "") + "\n";
  }
  std::string error(const std::string& message) const override { return "error " + message + "\n"; }
  nlohmann::json whole(const ebb::MessageDelta& m, const nlohmann::json&, Timing) const override { return m.content; }
};

// A connected loopback TCP pair: `client` is the client's end; the server's end is what a
// ClientWatch for the client's address finds in this process.
struct Loopback {
  int client = -1, server = -1, client_port = 0;
  Loopback() {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 1) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("loopback listen");
    client = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("connect");
    server = ::accept(listener, nullptr, nullptr);
    ::close(listener);
    sockaddr_in local{};
    len = sizeof local;
    ::getsockname(client, reinterpret_cast<sockaddr*>(&local), &len);
    client_port = ntohs(local.sin_port);
  }
  ~Loopback() {
    if (client >= 0) ::close(client);
    if (server >= 0) ::close(server);
  }
  void hang_up() { ::close(std::exchange(client, -1)); }
};

// The HTTP thread's sink: records what was written and on which thread.
struct RecordingSink {
  httplib::DataSink sink;
  std::mutex mu;
  std::string text;
  std::vector<std::thread::id> writers;
  bool ended = false;
  bool accepts = true;
  RecordingSink() {
    sink.write = [this](const char* d, size_t n) {
      std::lock_guard lk(mu);
      if (!accepts) return false;
      text.append(d, n);
      writers.push_back(std::this_thread::get_id());
      return true;
    };
    sink.is_writable = [] { return true; };
    sink.done = [this] { ended = true; };
  }
  std::string got() {
    std::lock_guard lk(mu);
    return text;
  }
};

template <class Pred>
bool wait_until(Pred pred) {
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!pred() && std::chrono::steady_clock::now() < end) std::this_thread::yield();
  return pred();
}

TokenStream make_stream(std::shared_ptr<RequestStream> s, std::optional<ClientWatch> client,
                        std::optional<StreamEvent> held = accepted()) {
  return TokenStream(RunnerCall{nullptr, std::move(s)}, std::move(held), std::move(client),
                     std::make_shared<TestShape>(), std::chrono::steady_clock::now());
}

TEST(TokenStream, TokensGoOutOnThePushingThreadAndTheEndOnTheHttpThread) {
  Loopback net;
  auto s = std::make_shared<RequestStream>(1);
  TokenStream ts = make_stream(s, ClientWatch("127.0.0.1", net.client_port));
  RecordingSink out;
  bool ok = false;
  std::thread::id http_id;
  std::thread http([&] {
    http_id = std::this_thread::get_id();
    ok = ts.write_to(out.sink);
  });
  ebb::ScopeExit end_http([&] {  // also when an assertion returns early
    s->push(done());
    if (http.joinable()) http.join();
  });
  ASSERT_TRUE(wait_until([&] { return s->has_token_writer(); })) << "the writer goes in once the held event is out";
  s->push(token("a"));
  s->push(token("b"));
  EXPECT_EQ(out.got(), "chunk a\nchunk b\n") << "written on the pushing thread, before push returned";
  s->push(done());
  http.join();
  EXPECT_TRUE(ok);
  EXPECT_TRUE(out.ended);
  EXPECT_TRUE(ts.finished());
  EXPECT_EQ(out.text, "chunk a\nchunk b\nfinal stop\n");
  ASSERT_EQ(out.writers.size(), 3u);
  EXPECT_EQ(out.writers[0], std::this_thread::get_id());
  EXPECT_EQ(out.writers[1], std::this_thread::get_id());
  EXPECT_EQ(out.writers[2], http_id) << "the end goes out on the HTTP thread";
  EXPECT_FALSE(s->has_token_writer());
}

// The writer holds a reference to the sink of a write_to call that has returned: after a hang-up
// it must be gone, and a late token must queue instead of reaching the sink.
TEST(TokenStream, AClientThatHangsUpEndsTheStreamAndTheWriter) {
  Loopback net;
  auto s = std::make_shared<RequestStream>(1);
  TokenStream ts = make_stream(s, ClientWatch("127.0.0.1", net.client_port));
  RecordingSink out;
  bool ok = true;
  std::thread http([&] { ok = ts.write_to(out.sink); });
  ebb::ScopeExit end_http([&] {
    s->push(done());
    if (http.joinable()) http.join();
  });
  ASSERT_TRUE(wait_until([&] { return s->has_token_writer(); }));
  s->push(token("a"));
  net.hang_up();
  http.join();
  EXPECT_FALSE(ok);
  EXPECT_FALSE(ts.finished()) << "close() must cancel the request in the runner";
  EXPECT_FALSE(s->has_token_writer());
  s->push(token("late"));
  EXPECT_EQ(out.got(), "chunk a\n");
  auto queued = s->pop(0ms);
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->text, "late");
  ts.close();  // without a lease there is nothing to cancel; must not crash
}

TEST(TokenStream, AFailedWriteEndsTheStreamAndTheWriter) {
  Loopback net;
  auto s = std::make_shared<RequestStream>(1);
  TokenStream ts = make_stream(s, ClientWatch("127.0.0.1", net.client_port));
  RecordingSink out;
  bool ok = true;
  std::thread http([&] { ok = ts.write_to(out.sink); });
  ebb::ScopeExit end_http([&] {
    s->push(done());
    if (http.joinable()) http.join();
  });
  ASSERT_TRUE(wait_until([&] { return s->has_token_writer(); }));
  {
    std::lock_guard lk(out.mu);
    out.accepts = false;  // the write fails on the pushing thread: the token queues, the HTTP thread's fails too
  }
  s->push(token("a"));
  http.join();
  EXPECT_FALSE(ok);
  EXPECT_FALSE(s->has_token_writer());
  EXPECT_FALSE(ts.finished());
}

// Without a socket to watch, nothing is written directly: every line goes out on the HTTP thread,
// the held event first.
TEST(TokenStream, WithoutAWatchedClientTheHttpThreadWritesEverything) {
  auto s = std::make_shared<RequestStream>(1);
  TokenStream ts = make_stream(s, std::nullopt, token("held"));
  s->push(token("a"));
  s->push(accepted());  // an empty token writes nothing
  s->push(token("b"));
  s->push(done());
  RecordingSink out;
  EXPECT_TRUE(ts.write_to(out.sink));
  EXPECT_EQ(out.text, "chunk held\nchunk a\nchunk b\nfinal stop\n");
  EXPECT_TRUE(out.ended);
  EXPECT_FALSE(s->has_token_writer());
}

// A shape's opening (OpenAI's role chunk) goes out before anything else, once.
TEST(TokenStream, TheOpeningGoesOutFirst) {
  class Opening : public TestShape {
   public:
    std::string opening() const override { return "open\n"; }
  };
  auto s = std::make_shared<RequestStream>(1);
  TokenStream ts(RunnerCall{nullptr, s}, token("held"), std::nullopt, std::make_shared<Opening>(),
                 std::chrono::steady_clock::now());
  s->push(token("a"));
  s->push(done());
  RecordingSink out;
  EXPECT_TRUE(ts.write_to(out.sink));
  EXPECT_EQ(out.text, "open\nchunk held\nchunk a\nfinal stop\n");
}

TEST(TokenStream, AnErrorIsTheLastLine) {
  auto s = std::make_shared<RequestStream>(1);
  TokenStream ts = make_stream(s, std::nullopt);
  s->push(token("a"));
  s->push(StreamEvent::error("runner exited (signal 9)"));
  RecordingSink out;
  EXPECT_TRUE(ts.write_to(out.sink));
  EXPECT_EQ(out.text, "chunk a\nerror runner exited (signal 9)\n");
  EXPECT_TRUE(ts.finished());
}

}  // namespace
