#pragma once
// The host tier: model files mapped and locked in RAM by the supervisor (mmap + mlock), so a
// runner that maps the same file later finds every page resident. An mlock failure (a small
// RLIMIT_MEMLOCK without CAP_IPC_LOCK) is never fatal: the file stays mapped in the page cache,
// whose pages may be evicted; it is logged once per start, not per model, and reported.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace ebb::supervisor {

class HostTier {
 public:
  ~HostTier();
  struct Result {
    bool mapped = false;
    bool locked = false;
    uint64_t bytes = 0;
    std::string error;
  };
  Result lock(const std::string& model, const std::string& path);
  void unlock(const std::string& model);
  bool holds(const std::string& model) const;
  // Why mlock was refused, the first time it was ("" while every lock has succeeded).
  std::string lock_refused() const;
  uint64_t locked_bytes() const;
  uint64_t mapped_bytes() const;

 private:
  struct Mapping {
    void* addr = nullptr;
    uint64_t bytes = 0;
    bool locked = false;
  };
  mutable std::mutex mu_;
  std::map<std::string, Mapping> maps_;
  std::string lock_refused_;  // guarded by mu_
};

}  // namespace ebb::supervisor
