// prefetch_file reads a cold file into the page cache and leaves a resident one alone.
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "../common/scratch_dir.h"
#include "engine/file_prefetch.h"

namespace {

using ebb::engine::prefetch_file;

std::string make_file(uint64_t bytes) {
  static const auto dir = ebb::test::scratch_dir("ebb-test-prefetch");
  const std::string path = (dir / ("f" + std::to_string(bytes))).string();
  std::ofstream out(path, std::ios::binary);
  std::string block(1 << 20, 'x');
  for (uint64_t done = 0; done < bytes; done += block.size())
    out.write(block.data(), static_cast<std::streamsize>(std::min<uint64_t>(block.size(), bytes - done)));
  return path;
}

// Flushes the file and drops it from the page cache.
void evict(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::fdatasync(fd);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ::close(fd);
}

TEST(FilePrefetch, ReadsAColdFileThenLeavesItAlone) {
  const uint64_t size = (uint64_t{24} << 20) + 12345;  // not a multiple of the chunk or the reader share
  const std::string path = make_file(size);
  evict(path);
  auto cold = prefetch_file(path);
  EXPECT_EQ(cold.file_bytes, size);
  EXPECT_LT(cold.resident_before, size / 2);
  EXPECT_EQ(cold.read_bytes, size);

  auto warm = prefetch_file(path);
  EXPECT_GE(warm.resident_before, size / 10 * 9);
  EXPECT_EQ(warm.read_bytes, 0u);
}

TEST(FilePrefetch, OneReaderReadsItAll) {
  const std::string path = make_file(uint64_t{5} << 20);
  evict(path);
  EXPECT_EQ(prefetch_file(path, 1).read_bytes, uint64_t{5} << 20);
}

TEST(FilePrefetch, MissingOrEmptyFilesAreLeftToTheLoader) {
  auto missing = prefetch_file("/nonexistent/model.gguf");
  EXPECT_EQ(missing.file_bytes, 0u);
  EXPECT_EQ(missing.read_bytes, 0u);
  auto empty = prefetch_file(make_file(0));
  EXPECT_EQ(empty.file_bytes, 0u);
  EXPECT_EQ(empty.read_bytes, 0u);
}

}  // namespace
