#include "common/shared_blob.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace ebb {

static constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;

std::shared_ptr<SharedBlob> SharedBlob::create(size_t capacity, const char* name) {
  int fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "memfd_create");
  std::shared_ptr<SharedBlob> b(new SharedBlob(fd, capacity));
  if (::ftruncate(fd, static_cast<off_t>(capacity)) != 0)
    throw std::system_error(errno, std::generic_category(), "ftruncate");
  if (capacity > 0) {
    void* p = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    b->writable_ = static_cast<uint8_t*>(p);
  }
  return b;
}

std::shared_ptr<SharedBlob> SharedBlob::adopt(int fd, uint64_t size) {
  std::shared_ptr<SharedBlob> b(new SharedBlob(fd, static_cast<size_t>(size)));  // owns fd from here
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & kSeals) != kSeals) throw std::runtime_error("shared blob is not sealed");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != size)
    throw std::runtime_error("shared blob holds " + std::to_string(st.st_size) + " bytes, not " + std::to_string(size));
  return b;
}

SharedBlob::~SharedBlob() {
  if (writable_) ::munmap(writable_, size_);
  if (readable_) ::munmap(const_cast<char*>(readable_), size_);
  if (fd_ >= 0) ::close(fd_);
}

void SharedBlob::seal(size_t used) {
  if (used > size_) throw std::invalid_argument("seal: more bytes used than allocated");
  if (writable_) ::munmap(writable_, size_);
  writable_ = nullptr;
  if (::ftruncate(fd_, static_cast<off_t>(used)) != 0)
    throw std::system_error(errno, std::generic_category(), "ftruncate");
  size_ = used;
  if (::fcntl(fd_, F_ADD_SEALS, kSeals) != 0) throw std::system_error(errno, std::generic_category(), "seal");
}

std::string_view SharedBlob::view() const {
  if (size_ == 0) return {};
  std::call_once(mapped_once_, [this] {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED | MAP_POPULATE, fd_, 0);
    if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap");
    readable_ = static_cast<const char*>(p);
  });
  return {readable_, size_};
}

}  // namespace ebb
