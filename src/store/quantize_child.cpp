#include "store/quantize_child.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>

#include <nlohmann/json.hpp>

namespace ebb::store {

namespace fs = std::filesystem;

Quantizer quantize_with_ebb(fs::path ebb_exe) {
  return [exe = std::move(ebb_exe)](const fs::path& in, const fs::path& out, const std::string& type,
                                    const std::function<void(int, int)>& progress) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    std::vector<std::string> args = {exe.string(), "quantize", "--progress-json", in.string(), out.string(), type};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {  // stdout and stderr both into the pipe: progress lines and the error text
      ::dup2(fds[1], STDOUT_FILENO);
      ::dup2(fds[1], STDERR_FILENO);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    std::deque<std::string> tail;  // the child's last lines that were not progress
    std::string line;
    char buf[4096];
    auto take = [&](const std::string& l) {
      const auto j = nlohmann::json::parse(l, nullptr, false);
      if (j.is_object() && j.contains("done") && j.contains("total") && j["done"].is_number_integer() &&
          j["total"].is_number_integer()) {
        progress(j["done"].get<int>(), j["total"].get<int>());
        return;
      }
      tail.push_back(l);
      if (tail.size() > 8) tail.pop_front();
    };
    std::exception_ptr failed;
    for (;;) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] != '\n') {
          line += buf[i];
          continue;
        }
        try {
          if (!failed) take(line);
        } catch (...) {  // a progress callback that throws (a client gone): stop the child
          failed = std::current_exception();
          ::kill(pid, SIGTERM);
        }
        line.clear();
      }
    }
    if (!line.empty()) tail.push_back(line);
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (failed) std::rethrow_exception(failed);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    std::string why;
    for (const auto& l : tail) why += (why.empty() ? "" : "\n") + l;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && why.empty()) why = "cannot run " + exe.string();
    throw std::runtime_error("quantizing failed: " + (why.empty() ? std::string("the quantizer was killed") : why));
  };
}

}  // namespace ebb::store
