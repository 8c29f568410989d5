#include "cli/terminal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace ebb::cli {

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

int terminal_columns(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// --- RawMode ---

RawMode::RawMode(int fd) : fd_(fd) {
  if (::tcgetattr(fd_, &saved_) != 0) return;
  termios raw = saved_;
  raw.c_iflag &= ~static_cast<tcflag_t>(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
  raw.c_cflag |= CS8;
  raw.c_lflag &= ~static_cast<tcflag_t>(ECHO | ICANON | IEXTEN | ISIG);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  active_ = ::tcsetattr(fd_, TCSADRAIN, &raw) == 0;
}

RawMode::~RawMode() {
  if (active_) ::tcsetattr(fd_, TCSADRAIN, &saved_);
}

// --- NoEcho ---

NoEcho::NoEcho(int fd) : fd_(fd) {
  if (::tcgetattr(fd_, &saved_) != 0) return;
  termios quiet = saved_;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  active_ = ::tcsetattr(fd_, TCSADRAIN, &quiet) == 0;
}

NoEcho::~NoEcho() {
  if (active_) ::tcsetattr(fd_, TCSADRAIN, &saved_);
}

// --- Spinner ---

Spinner::Spinner() {
  if (!is_terminal(STDERR_FILENO)) return;
  thread_ = std::thread([this] {
    static const char* const kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
    write_all(STDERR_FILENO, "\x1b[?25l");  // cursor hidden
    for (int i = 0; !stop_; i = (i + 1) % 10) {
      write_all(STDERR_FILENO, std::string("\r") + kFrames[i] + " ");
      for (int t = 0; t < 10 && !stop_; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    write_all(STDERR_FILENO, "\r\x1b[K\x1b[?25h");
  });
}

void Spinner::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

// --- InterruptWatch ---

namespace {
int g_interrupt_pipe[2] = {-1, -1};

void on_sigint(int) {
  const int saved = errno;
  const char c = 1;
  [[maybe_unused]] ssize_t n = ::write(g_interrupt_pipe[1], &c, 1);
  errno = saved;
}
}  // namespace

InterruptWatch::InterruptWatch(std::function<void()> on_interrupt) : on_interrupt_(std::move(on_interrupt)) {
  if (g_interrupt_pipe[0] < 0 && ::pipe2(g_interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  char drain[64];
  while (::read(g_interrupt_pipe[0], drain, sizeof drain) > 0) {
  }
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &previous_);
  thread_ = std::thread([this] {
    pollfd p{g_interrupt_pipe[0], POLLIN, 0};
    while (true) {
      const int r = ::poll(&p, 1, -1);
      if (r < 0 && errno == EINTR) continue;
      char c = 0;
      if (r <= 0 || ::read(g_interrupt_pipe[0], &c, 1) != 1) return;
      if (c == 0) return;  // the destructor's "stop"
      interrupted_ = true;
      on_interrupt_();
    }
  });
}

InterruptWatch::~InterruptWatch() {
  if (thread_.joinable()) {
    const char stop = 0;
    write_all(g_interrupt_pipe[1], std::string_view(&stop, 1));
    thread_.join();
  }
  ::sigaction(SIGINT, &previous_, nullptr);
}

}  // namespace ebb::cli
