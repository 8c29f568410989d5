#pragma once
// Helpers for the registry client's tests: a small fake Ollama model (random "GGUF" bytes, a
// template, a config, a manifest), a real docker-registry child process, and a "replay server"
// (an httplib::Server on an ephemeral port whose handlers each test sets).
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include "../common/file_bytes.h"
#include "../common/scratch_dir.h"
#include "common/model_details.h"
#include "serve_fixture.h"  // wait_until
#include "store/blob_writer.h"
#include "store/manifest.h"
#include "store/registry_client.h"
#include "store/store.h"

namespace ebb::test {

namespace fs = std::filesystem;
using json = nlohmann::json;

inline std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

struct FakeModel {
  std::string manifest;                      // the manifest's bytes
  std::map<std::string, std::string> blobs;  // digest -> bytes
  std::string model_digest;                  // the model layer's

  static FakeModel make(size_t model_bytes, uint32_t seed) {
    FakeModel m;
    auto add = [&](std::string_view media_type, std::string bytes) {
      const std::string digest = "sha256:" + sha256_hex(bytes);
      json layer = {{"mediaType", media_type}, {"digest", digest}, {"size", bytes.size()}};
      m.blobs[digest] = std::move(bytes);
      return layer;
    };
    json model = add(store::media::kModel, "GGUF" + random_bytes(model_bytes, seed));
    m.model_digest = model["digest"];
    json tmpl = add(store::media::kTemplate, "{{ .Prompt }} seed " + std::to_string(seed));
    json config =
        add(store::media::kConfig, json{{"model_format", "gguf"}, {"model_family", "llama"}, {"seed", seed}}.dump());
    m.manifest = json{{"schemaVersion", 2},
                      {"mediaType", store::media::kManifest},
                      {"config", config},
                      {"layers", json::array({model, tmpl})}}
                     .dump();
    return m;
  }

  // Puts the blobs and the manifest into a store.
  void install(const store::Store& s, const store::ModelName& name) const {
    for (const auto& [digest, bytes] : blobs) {
      store::BlobWriter w(s.blobs_dir(), digest, false);
      w.write(bytes);
      w.commit();
    }
    s.write_manifest(name, manifest);
  }
};

// Collects progress objects; the last error of a pull or push.
struct Recorder {
  std::vector<json> events;
  store::RegistryProgress fn() {
    return [this](const json& j) { events.push_back(j); };
  }
  std::vector<std::string> statuses() const {
    std::vector<std::string> out;
    for (const auto& e : events)
      if (out.empty() || out.back() != e["status"]) out.push_back(e["status"]);
    return out;
  }
};

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// `docker-registry serve` on a free port with its storage in a scratch directory.
class DockerRegistry {
 public:
  DockerRegistry() {
    dir_ = scratch_dir("ebb-registry");
    port_ = free_port();
    std::ofstream(dir_ / "config.yml") << "version: 0.1\n"
                                       << "log:\n  level: warn\n"
                                       << "storage:\n  filesystem:\n    rootdirectory: " << (dir_ / "storage").string()
                                       << "\n"
                                       << "http:\n  addr: 127.0.0.1:" << port_ << "\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string log = (dir_ / "registry.log").string();
      FILE* f = std::freopen(log.c_str(), "w", stdout);
      (void)f;
      ::dup2(STDOUT_FILENO, STDERR_FILENO);
      const std::string config = (dir_ / "config.yml").string();
      ::execl("/usr/bin/docker-registry", "docker-registry", "serve", config.c_str(), nullptr);
      ::_exit(127);
    }
    httplib::Client c("127.0.0.1", port_);
    ready_ = wait_until(
        [&] {
          auto r = c.Get("/v2/");
          return r && r->status == 200;
        },
        std::chrono::seconds(15));
  }
  ~DockerRegistry() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return file_bytes(dir_ / "registry.log"); }
  // Where the registry keeps a blob's bytes.
  fs::path blob_data(const std::string& digest) const {
    const std::string hex = digest.substr(7);
    return dir_ / "storage/docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
  }

 private:
  fs::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

// An httplib::Server on an ephemeral port, listening on its own thread.
class ReplayServer {
 public:
  httplib::Server server;
  ReplayServer() = default;
  void start() {
    port_ = server.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server.listen_after_bind(); });
    wait_until([this] { return server.is_running(); });
  }
  ~ReplayServer() {
    server.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  std::thread thread_;
};

}  // namespace ebb::test
