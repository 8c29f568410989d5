#pragma once
// A tmpfs of a given size mounted on a directory for a scope: a real small disk, so full-disk
// tests hit ENOSPC for real. Mounting needs root (CI runs as root); a test skips on EPERM.
#include <sys/mount.h>

#include <cerrno>
#include <filesystem>
#include <string>

namespace ebb::test {

class ScopedTmpfs {
 public:
  // `size`: tmpfs's size option ("16k", "8m").
  ScopedTmpfs(std::filesystem::path dir, const std::string& size) : dir_(std::move(dir)) {
    const std::string options = "size=" + size;
    error_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0 ? 0 : errno;
  }
  ~ScopedTmpfs() {
    if (error_ == 0) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  ScopedTmpfs(const ScopedTmpfs&) = delete;
  ScopedTmpfs& operator=(const ScopedTmpfs&) = delete;

  int error() const { return error_; }  // 0: mounted; else mount's errno

 private:
  std::filesystem::path dir_;
  int error_ = 0;
};

}  // namespace ebb::test
