#pragma once
// Bytes in a sealed anonymous memory file (memfd). The producer writes them once; afterwards
// they travel between processes as a descriptor (SCM_RIGHTS) and each reader maps them
// read-only, so a KV snapshot of hundreds of MiB is handed over without being copied.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

namespace ebb {

class SharedBlob {
 public:
  // A new memory file with room for `capacity` bytes, mapped writable. Throws std::system_error.
  static std::shared_ptr<SharedBlob> create(size_t capacity, const char* name = "ebb-blob");
  // Takes ownership of a received descriptor (closed on failure). It must be sealed against
  // writes and resizing, and hold exactly `size` bytes. Throws std::runtime_error otherwise.
  static std::shared_ptr<SharedBlob> adopt(int fd, uint64_t size);

  ~SharedBlob();
  SharedBlob(const SharedBlob&) = delete;
  SharedBlob& operator=(const SharedBlob&) = delete;

  // Producer side, before seal(): the writable mapping.
  uint8_t* data() { return writable_; }
  // Cuts the file to the `used` bytes, drops the writable mapping and seals the file.
  void seal(size_t used);

  // The bytes, mapped read-only (and pre-faulted) on first use.
  std::string_view view() const;
  size_t size() const { return size_; }
  int fd() const { return fd_; }

 private:
  SharedBlob(int fd, size_t size) : fd_(fd), size_(size) {}
  int fd_ = -1;
  size_t size_ = 0;
  uint8_t* writable_ = nullptr;
  mutable std::once_flag mapped_once_;
  mutable const char* readable_ = nullptr;
};

}  // namespace ebb
