#include "supervisor/host_tier.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace ebb::supervisor {

HostTier::~HostTier() {
  for (auto& [name, m] : maps_) {
    if (m.locked) ::munlock(m.addr, m.bytes);
    ::munmap(m.addr, m.bytes);
  }
}

HostTier::Result HostTier::lock(const std::string& model, const std::string& path) {
  Result r;
  {
    std::lock_guard lk(mu_);
    if (auto it = maps_.find(model); it != maps_.end()) return {true, it->second.locked, it->second.bytes, ""};
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {false, false, 0, std::string("open: ") + std::strerror(errno)};
  struct stat st {};
  ::fstat(fd, &st);
  r.bytes = static_cast<uint64_t>(st.st_size);
  void* addr = r.bytes ? ::mmap(nullptr, r.bytes, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (addr == MAP_FAILED) return {false, false, 0, std::string("mmap: ") + std::strerror(errno)};
  r.mapped = true;
  r.locked = ::mlock(addr, r.bytes) == 0;
  std::lock_guard lk(mu_);
  if (!r.locked) {
    r.error = std::string("mlock: ") + std::strerror(errno);
    if (lock_refused_.empty()) {
      lock_refused_ = r.error;
      spdlog::warn(
          "host tier: mlock refused ({}; raise RLIMIT_MEMLOCK or grant CAP_IPC_LOCK): model files stay in "
          "the page cache, whose pages may be evicted. Said once per start.",
          r.error);
    } else {
      spdlog::debug("host tier: could not lock '{}' ({})", model, r.error);
    }
  }
  maps_[model] = {addr, r.bytes, r.locked};
  return r;
}

void HostTier::unlock(const std::string& model) {
  Mapping m;
  {
    std::lock_guard lk(mu_);
    auto it = maps_.find(model);
    if (it == maps_.end()) return;
    m = it->second;
    maps_.erase(it);
  }
  if (m.locked) ::munlock(m.addr, m.bytes);
  ::munmap(m.addr, m.bytes);
}

std::string HostTier::lock_refused() const {
  std::lock_guard lk(mu_);
  return lock_refused_;
}

bool HostTier::holds(const std::string& model) const {
  std::lock_guard lk(mu_);
  return maps_.count(model) > 0;
}

uint64_t HostTier::locked_bytes() const {
  std::lock_guard lk(mu_);
  uint64_t n = 0;
  for (const auto& [k, m] : maps_) n += m.locked ? m.bytes : 0;
  return n;
}

uint64_t HostTier::mapped_bytes() const {
  std::lock_guard lk(mu_);
  uint64_t n = 0;
  for (const auto& [k, m] : maps_) n += m.bytes;
  return n;
}

}  // namespace ebb::supervisor
