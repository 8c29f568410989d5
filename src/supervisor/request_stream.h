#pragma once
// Events of one in-flight generation, passed from a runner's reader thread to the HTTP thread.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ebb::supervisor {

struct StreamEvent {
  enum class Kind { Token, Done, Error } kind = Kind::Token;
  std::string text;      // Token: text; Error: message
  nlohmann::json stats;  // Done: the runner's done message
};

class RequestStream {
 public:
  explicit RequestStream(uint64_t id) : id_(id) {}
  uint64_t id() const { return id_; }

  void push(StreamEvent e) {
    {
      std::lock_guard lk(mu_);
      if (closed_) return;
      if (e.kind != StreamEvent::Kind::Token) closed_ = true;
      q_.push_back(std::move(e));
    }
    cv_.notify_all();
  }

  // Waits up to `timeout` for the next event.
  std::optional<StreamEvent> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, timeout, [&] { return !q_.empty(); })) return std::nullopt;
    auto e = std::move(q_.front());
    q_.pop_front();
    return e;
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
  bool closed_ = false;
};

}  // namespace ebb::supervisor
