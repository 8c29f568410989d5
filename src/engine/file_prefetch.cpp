#include "engine/file_prefetch.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace ebb::engine {
namespace {

// Bytes of [0, size) that are in the page cache.
uint64_t resident_bytes(int fd, uint64_t size) {
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return 0;
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((size + page - 1) / page);
  uint64_t resident = 0;
  if (::mincore(map, size, vec.data()) == 0)
    for (unsigned char v : vec) resident += (v & 1) ? page : 0;
  ::munmap(map, size);
  return std::min(resident, size);
}

// Reads [begin, end) with pread in 4 MiB chunks; returns the bytes read.
uint64_t read_range(int fd, uint64_t begin, uint64_t end) {
  constexpr size_t kChunk = size_t{4} << 20;
  std::vector<char> buf(kChunk);
  uint64_t done = 0;
  for (uint64_t off = begin; off < end;) {
    ssize_t n =
        ::pread(fd, buf.data(), static_cast<size_t>(std::min<uint64_t>(kChunk, end - off)), static_cast<off_t>(off));
    if (n <= 0) break;
    off += static_cast<uint64_t>(n);
    done += static_cast<uint64_t>(n);
  }
  return done;
}

}  // namespace

PrefetchResult prefetch_file(const std::string& path, unsigned readers) {
  PrefetchResult r;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return r;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
    ::close(fd);
    return r;
  }
  r.file_bytes = static_cast<uint64_t>(st.st_size);
  r.resident_before = resident_bytes(fd, r.file_bytes);
  // Mostly resident already (host tier, or a recent load): llama.cpp's own read does the rest.
  if (r.resident_before >= r.file_bytes / 10 * 9) {
    ::close(fd);
    return r;
  }
  readers = std::clamp(readers, 1u, 16u);
  std::atomic<uint64_t> read{0};
  std::vector<std::thread> pool;
  const uint64_t share = (r.file_bytes + readers - 1) / readers;
  for (unsigned i = 0; i < readers; ++i) {
    const uint64_t begin = i * share, end = std::min(r.file_bytes, begin + share);
    if (begin >= end) break;
    pool.emplace_back([&, begin, end] { read += read_range(fd, begin, end); });
  }
  for (auto& t : pool) t.join();
  ::close(fd);
  r.read_bytes = read.load();
  return r;
}

}  // namespace ebb::engine
