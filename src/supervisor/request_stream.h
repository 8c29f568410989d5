#pragma once
// Events of one in-flight generation, passed from a runner's reader thread to the HTTP thread.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/token_logprob.h"

namespace ebb::supervisor {

struct StreamEvent {
  enum class Kind { Token, Done, Error } kind = Kind::Token;
  std::string text;      // Token: content text; Error: message
  nlohmann::json stats;  // Done: the runner's done message
  // Token, when the runner parses its output (tools, thinking): reasoning text and complete tool
  // calls ({"name", "arguments"}), else empty / null.
  std::string thinking;
  nlohmann::json tool_calls;
  // Token, when the request asked for logprobs: the entries of the tokens this event's text ends.
  std::vector<Logprob> logprobs;

  bool plain_text() const {
    return thinking.empty() && (tool_calls.is_null() || tool_calls.empty()) && logprobs.empty();
  }

  static StreamEvent token(std::string text) { return make(Kind::Token, std::move(text), {}); }
  static StreamEvent done(nlohmann::json stats) { return make(Kind::Done, "", std::move(stats)); }
  static StreamEvent error(std::string message, nlohmann::json stats = {}) {
    return make(Kind::Error, std::move(message), std::move(stats));
  }

 private:
  static StreamEvent make(Kind kind, std::string text, nlohmann::json stats) {
    StreamEvent ev;
    ev.kind = kind;
    ev.text = std::move(text);
    ev.stats = std::move(stats);
    return ev;
  }
};

// A streamed response can install a token writer: tokens then go out on the pushing thread (the
// runner's reader), so each token wakes one supervisor thread instead of two. The writer runs
// under the stream's lock, and only while the consumer holds no event of its own (see pop and
// written), so the order on the wire is the runner's. A token the writer cannot send right away
// (it returns false) is queued, and so is everything after it until the consumer has caught up.
// Only plain text goes through the writer; thinking, tool calls and logprobs always go to the
// consumer.
class RequestStream {
 public:
  using TokenWriter = std::function<bool(const std::string& text)>;

  explicit RequestStream(uint64_t id) : id_(id) {}
  uint64_t id() const { return id_; }

  void push(StreamEvent e) {
    {
      std::lock_guard lk(mu_);
      if (closed_) return;
      if (e.kind == StreamEvent::Kind::Token && e.plain_text() && writer_ && q_.empty() && !taken_ && writer_(e.text))
        return;
      if (e.kind != StreamEvent::Kind::Token) closed_ = true;
      q_.push_back(std::move(e));
    }
    cv_.notify_all();
  }

  // Waits up to `timeout` for the next event. The caller then holds it: no token is written
  // directly until it calls written() (or set_token_writer).
  std::optional<StreamEvent> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, timeout, [&] { return !q_.empty(); })) return std::nullopt;
    auto e = std::move(q_.front());
    q_.pop_front();
    taken_ = true;
    return e;
  }

  // The consumer has sent the event it took: direct writes may go on.
  void written() {
    std::lock_guard lk(mu_);
    taken_ = false;
  }

  // Installs (or, with nullptr, removes) the token writer; the consumer holds no event. Removing
  // waits for a write in progress, so the writer's captures may go away afterwards.
  void set_token_writer(TokenWriter w) {
    std::lock_guard lk(mu_);
    writer_ = std::move(w);
    taken_ = false;
  }

  bool has_token_writer() const {
    std::lock_guard lk(mu_);
    return static_cast<bool>(writer_);
  }

  bool closed() const {
    std::lock_guard lk(mu_);
    return closed_;
  }

 private:
  uint64_t id_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StreamEvent> q_;
  TokenWriter writer_;
  bool taken_ = false;  // the consumer holds a popped event it has not sent yet
  bool closed_ = false;
};

}  // namespace ebb::supervisor
