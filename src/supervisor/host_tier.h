#pragma once
// The host tier: model files mapped and locked in RAM by the supervisor (mmap + mlock), so a
// runner that maps the same file later finds every page resident. An mlock failure is reported
// (the file stays mapped, pages may be evicted), never fatal.
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
};

}  // namespace ebb::supervisor
