#pragma once
// The terminal side of `ebb run`: raw mode for the line editor, the width, a spinner, and Ctrl-C
// while an answer streams.
#include <atomic>
#include <functional>
#include <string_view>
#include <thread>

#include <signal.h>
#include <termios.h>

namespace ebb::cli {

bool is_terminal(int fd);
int terminal_columns(int fd);  // 80 when unknown
void write_all(int fd, std::string_view text);

// Raw input while alive: no echo, no line buffering, no signals from Ctrl-C (the line editor
// reads it as a key). Output processing stays on, so "\n" still starts a new line.
class RawMode {
 public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
  bool active() const { return active_; }

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

// While alive, what is typed is not echoed (it waits, line-buffered, for the next prompt), so it
// does not break into an answer being printed; Ctrl-C still raises SIGINT.
class NoEcho {
 public:
  explicit NoEcho(int fd);
  ~NoEcho();
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

// ollama's spinner on stderr ("⠋ ", ten frames, 100 ms apart), while alive and stop() has not
// been called; nothing when stderr is not a terminal. stop() clears it.
class Spinner {
 public:
  Spinner();
  ~Spinner() { stop(); }
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;
  void stop();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Calls `on_interrupt` (from a thread of its own) when SIGINT arrives while alive; SIGINT's
// previous handling comes back after.
class InterruptWatch {
 public:
  explicit InterruptWatch(std::function<void()> on_interrupt);
  ~InterruptWatch();
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;
  bool interrupted() const { return interrupted_; }

 private:
  std::function<void()> on_interrupt_;
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
  struct ::sigaction previous_ {};
};

}  // namespace ebb::cli
