#pragma once
// Starts the real `ebb serve` on an ephemeral port with synthetic models, for integration tests.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include "../common/run_command.h"
#include "../common/scratch_dir.h"

namespace ebb::test {

using json = nlohmann::json;
namespace fs = std::filesystem;

// Runs a command that must succeed; returns its stdout.
inline std::string run_capture(const std::string& cmd) {
  int rc = 0;
  std::string out = run_command(cmd, &rc);
  if (rc != 0) ADD_FAILURE() << "command failed (" << rc << "): " << cmd;
  return out;
}

// Runs a command expected to fail; returns its output without flagging a failure.
inline std::string run_capture_status(const std::string& cmd) { return run_command(cmd); }

// A temporary models directory, shared by all tests of a binary (synth once).
inline const fs::path& models_dir() {
  static fs::path dir = [] {
    fs::path d = scratch_dir("ebb-test-models");
    run_capture(std::string(EBB_BIN) + " synth --out " + (d / "tiny.gguf").string() +
                " --params 20M --quant q8_0 --seed 1 >/dev/null");
    run_capture(std::string(EBB_BIN) + " synth --out " + (d / "tiny2.gguf").string() +
                " --params 20M --quant q4_0 --seed 2 >/dev/null");
    std::ofstream(d / "corrupt.gguf") << "GGUF this is not a real header";
    return d;
  }();
  return dir;
}

// Synthetic models carrying real model families' chat templates (from the pinned llama.cpp's
// models/templates), one per template, made once, in a directory of their own; "plain" is tiny
// (ChatML, without tools or thinking).
inline const fs::path& family_models() {
  static const fs::path dir = [] {
    fs::path d = scratch_dir("ebb-test-tools");
    const fs::path templates = LLAMA_TEMPLATES_DIR;
    const std::vector<std::pair<std::string, std::string>> families = {
        {"qwen25", "Qwen-Qwen2.5-7B-Instruct.jinja"},
        {"hermes3", "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"},
        {"llama32", "meta-llama-Llama-3.2-3B-Instruct.jinja"},
        {"nemo", "mistralai-Mistral-Nemo-Instruct-2407.jinja"},
        {"qwen3", "Qwen-Qwen3-0.6B.jinja"},
        {"r1", "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja"},
    };
    for (const auto& [name, file] : families)
      run_capture(std::string(EBB_BIN) + " synth --out " + (d / (name + ".gguf")).string() +
                  " --params 20M --seed 5 --chat-template " + (templates / file).string() + " >/dev/null");
    fs::copy_file(models_dir() / "tiny.gguf", d / "plain.gguf");  // ChatML without tools or thinking
    return d;
  }();
  return dir;
}

class Server {
 public:
  // `in_child`: runs in the forked child before exec (limits, capabilities); async-signal-safe calls only.
  explicit Server(std::vector<std::string> extra_args = {}, fs::path models = models_dir(),
                  void (*in_child)() = nullptr) {
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      if (in_child) in_child();
      std::string log = "/tmp/ebb-test-serve-" + std::to_string(::getpid()) + ".log";
      int fd = ::open(log.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
      if (fd >= 0) ::dup2(fd, 2);
      std::vector<std::string> args = {EBB_BIN, "serve", "--models", models.string()};
      // An ephemeral port on loopback, unless the test chooses the address itself.
      if (std::find(extra_args.begin(), extra_args.end(), "--host") == extra_args.end())
        args.insert(args.end(), {"--host", "127.0.0.1:0"});
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(EBB_BIN, argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = ::fdopen(out[0], "r");
    char line[512];
    while (std::fgets(line, sizeof line, out_)) {
      std::string s = line;
      auto at = s.find("listening on ");
      if (at != std::string::npos) {
        port_ = std::stoi(s.substr(s.rfind(':') + 1));
        break;
      }
    }
    if (port_ <= 0) throw std::runtime_error("ebb serve did not start");
  }
  ~Server() { stop(); }
  void stop() {
    if (pid_ > 0 && !exit_status_) {
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    pid_ = -1;
    if (out_) std::fclose(out_), out_ = nullptr;
  }
  // The server's wait status once it has exited (reaped then), else nullopt; never blocks.
  std::optional<int> exit_status() {
    if (!exit_status_ && pid_ > 0) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) exit_status_ = st;
    }
    return exit_status_;
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // What the server logged so far (its stderr).
  std::string log() const {
    std::ifstream f("/tmp/ebb-test-serve-" + std::to_string(pid_) + ".log");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(300, 0);
    return c;
  }
  // POST returning status and body.
  std::pair<int, std::string> post(const std::string& path, const json& body) const {
    return post_raw(path, body.dump());
  }
  std::pair<int, std::string> post_raw(const std::string& path, const std::string& body) const {
    auto c = client();
    auto r = c.Post(path.c_str(), body, "application/json");
    if (!r) return {0, ""};
    return {r->status, r->body};
  }
  json get(const std::string& path) const {
    auto c = client();
    auto r = c.Get(path.c_str());
    if (!r || r->status != 200) return json();
    return json::parse(r->body);
  }
  // Streams NDJSON lines; returns them parsed.
  std::vector<json> stream(const std::string& path, const json& body) const {
    auto [status, text] = post(path, body);
    std::vector<json> lines;
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      if (nl > start) lines.push_back(json::parse(text.substr(start, nl - start)));
      start = nl + 1;
    }
    if (status != 200) lines.push_back({{"http_status", status}});
    return lines;
  }
  // Generated text of a non-streaming /api/generate.
  std::string generate_text(const json& body) const {
    json b = body;
    b["stream"] = false;
    auto [status, text] = post("/api/generate", b);
    EXPECT_EQ(status, 200) << text;
    return json::parse(text).value("response", "");
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  int port_ = -1;
  FILE* out_ = nullptr;
};

// A server-sent event stream's data: each event's JSON, and "[DONE]" as a string.
inline std::vector<json> sse_events(const std::string& text) {
  std::vector<json> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find("\n\n", at);
    if (text.compare(at, 6, "data: ") != 0 || end == std::string::npos) {
      ADD_FAILURE() << "not an SSE data event at " << at << ": " << text.substr(at);
      break;
    }
    const std::string data = text.substr(at + 6, end - at - 6);
    out.push_back(data == "[DONE]" ? json("[DONE]") : json::parse(data));
    at = end + 2;
  }
  return out;
}

// Writes `text` to a new temporary file (a config for `ebb serve --config`); returns its path.
inline fs::path write_temp_file(const std::string& text) {
  char tmpl[] = "/tmp/ebb-test-config-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ::close(fd);
  std::ofstream(tmpl) << text;
  return tmpl;
}

// Sends POST `path` over a raw socket and returns the socket without reading the answer;
// closing it is hanging up. -1 on failure.
inline int send_post_raw(int port, const std::string& path, const json& body) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  std::string payload = body.dump();
  std::string req = "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(payload.size()) + "\r\n\r\n" + payload;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline int send_generate_raw(int port, const json& body) { return send_post_raw(port, "/api/generate", body); }

// A POST sent over a raw socket in two parts: all but the body's last byte at once, the rest by
// finish(), which then reads the whole answer (Connection: close) and returns its status and body.
class RawRequest {
 public:
  RawRequest(int port, const std::string& path, const std::string& body) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    std::string req = "POST " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: " +
                      "application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    last_ = req.back();
    req.pop_back();
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::write(fd_, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
      ADD_FAILURE() << "could not send " << path;
  }
  RawRequest(const RawRequest&) = delete;
  RawRequest& operator=(const RawRequest&) = delete;
  ~RawRequest() { ::close(fd_); }

  std::pair<int, std::string> finish() {
    if (::write(fd_, &last_, 1) != 1) return {0, ""};
    std::string got;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd_, buf, sizeof buf)) > 0;) got.append(buf, n);
    if (got.rfind("HTTP/1.1 ", 0) != 0) return {0, got};
    const size_t body = got.find("\r\n\r\n");
    return {std::stoi(got.substr(9, 3)), body == std::string::npos ? "" : got.substr(body + 4)};
  }

 private:
  int fd_ = -1;
  char last_ = 0;
};

// Reads from `fd` into `got` until it holds `needle` (true) or the peer closes (false).
inline bool read_until(int fd, std::string& got, const std::string& needle) {
  char buf[4096];
  while (got.find(needle) == std::string::npos) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    got.append(buf, n);
  }
  return true;
}

// Reads a streaming answer until its first generated chunk. False at EOF.
inline bool read_first_chunk(int fd) {
  std::string got;
  return read_until(fd, got, "\"response\"");
}

// Reads the rest of a chunked answer, up to its terminating empty chunk; returns what it read.
inline std::string read_to_last_chunk(int fd) {
  std::string got;
  read_until(fd, got, "\r\n0\r\n\r\n");
  return got;
}

// pids of this server's runner children.
inline std::vector<pid_t> runner_pids(pid_t server) {
  // Children are listed under the thread that forked them.
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(server) + "/task", ec)) {
    std::ifstream f(task.path() / "children");
    pid_t p;
    while (f >> p) pids.push_back(p);
  }
  return pids;
}

inline bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0; }

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

}  // namespace ebb::test
