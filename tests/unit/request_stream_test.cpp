// RequestStream's direct token writes: tokens go to the writer on the pushing thread only while
// the consumer holds nothing and nothing waits in the queue, so the order is always the runner's.
#include "supervisor/request_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using ebb::supervisor::RequestStream;
using ebb::supervisor::StreamEvent;
using Kind = StreamEvent::Kind;
using namespace std::chrono_literals;

StreamEvent token(const std::string& t) { return StreamEvent::token(t); }

TEST(RequestStream, WithoutAWriterEverythingQueues) {
  RequestStream s(1);
  s.push(token("a"));
  s.push(StreamEvent::done({}));
  s.push(token("late"));  // after the end: dropped
  EXPECT_EQ(s.pop(0ms)->text, "a");
  EXPECT_EQ(s.pop(0ms)->kind, Kind::Done);
  EXPECT_FALSE(s.pop(0ms));
}

TEST(RequestStream, AWriterTakesTokensButNotTheEnd) {
  RequestStream s(1);
  std::string wire;
  s.set_token_writer([&](const std::string& t) {
    wire += t;
    return true;
  });
  s.push(token("a"));
  s.push(token("b"));
  EXPECT_EQ(wire, "ab");
  EXPECT_FALSE(s.pop(0ms)) << "written tokens are not queued";
  s.push(StreamEvent::done({}));
  EXPECT_EQ(s.pop(0ms)->kind, Kind::Done);
}

// A token the writer cannot send waits in the queue, and so does every later one until the
// consumer has sent them all: "b" must not overtake "a".
TEST(RequestStream, ABlockedTokenKeepsItsPlace) {
  RequestStream s(1);
  std::string wire;
  bool writable = false;
  s.set_token_writer([&](const std::string& t) {
    if (!writable) return false;
    wire += t;
    return true;
  });
  s.push(token("a"));
  writable = true;
  s.push(token("b"));
  EXPECT_EQ(wire, "");
  auto first = s.pop(0ms);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->text, "a");
  s.push(token("c"));  // the consumer holds "a", not sent yet: "c" queues behind "b"
  EXPECT_EQ(wire, "");
  wire += first->text;
  s.written();
  EXPECT_EQ(s.pop(0ms)->text, "b");
  wire += "b";
  s.written();
  EXPECT_EQ(s.pop(0ms)->text, "c");
  wire += "c";
  s.written();
  s.push(token("d"));  // caught up: direct again
  EXPECT_EQ(wire, "abcd");
  EXPECT_FALSE(s.pop(0ms));
}

TEST(RequestStream, RemovingTheWriterQueuesAgain) {
  RequestStream s(1);
  int calls = 0;
  s.set_token_writer([&](const std::string&) { return ++calls > 0; });
  s.push(token("a"));
  s.set_token_writer(nullptr);
  s.push(token("b"));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s.pop(0ms)->text, "b");
}

// The writer sends text only: a token with logprobs goes to the consumer, which writes them.
TEST(RequestStream, TokensWithLogprobsGoToTheConsumer) {
  RequestStream s(1);
  std::string wire;
  s.set_token_writer([&](const std::string& t) {
    wire += t;
    return true;
  });
  StreamEvent ev = token("a");
  ev.logprobs = {{{"a", -0.5}, {}}};
  s.push(std::move(ev));
  EXPECT_EQ(wire, "");
  auto popped = s.pop(0ms);
  ASSERT_TRUE(popped);
  ASSERT_EQ(popped->logprobs.size(), 1u);
  EXPECT_EQ(popped->logprobs[0].chosen.logprob, -0.5);
}

}  // namespace
