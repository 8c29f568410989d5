// Measured process memory from /proc.
#include "common/process_memory.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace ebb {
namespace {

TEST(ProcessMemory, ParsesKbFields) {
  const char* status = "Name:\tebb\nVmRSS:\t    2012 kB\nRssAnon:\t     160 kB\nRssFile:\t    1852 kB\n";
  EXPECT_EQ(proc_kb_field(status, "VmRSS"), 2012u * 1024);
  EXPECT_EQ(proc_kb_field(status, "RssAnon"), 160u * 1024);
  EXPECT_EQ(proc_kb_field(status, "Rss"), 0u);  // a prefix of another key is not a match
  EXPECT_EQ(proc_kb_field(status, "Pss"), 0u);
  EXPECT_EQ(proc_kb_field("Pss:                 455 kB\nPss_Dirty:   112 kB", "Pss"), 455u * 1024);
}

TEST(ProcessMemory, SeesThisProcessGrow) {
  ProcessMemory before = read_process_memory();
  EXPECT_GT(before.rss, 0u);
  EXPECT_GT(before.pss, 0u);
  EXPECT_GE(before.rss, before.rss_anon + before.rss_file);
  std::vector<char> block(64 << 20);
  std::memset(block.data(), 1, block.size());
  ProcessMemory after = read_process_memory();
  volatile char touched = block[block.size() / 2];
  (void)touched;
  EXPECT_GE(after.rss_anon, before.rss_anon + (60u << 20));
  EXPECT_EQ(read_process_memory(-1).rss, 0u);  // no such process
}

// File pages count towards "code" unless they are the excepted file: a model mapped for reading
// is left out, the executable and its libraries are in.
TEST(ProcessMemory, FileRssLeavesOutTheExceptedFile) {
  char path[] = "/tmp/ebb-file-rss-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const size_t size = 8 << 20;
  std::vector<char> bytes(size, 7);
  ASSERT_EQ(::write(fd, bytes.data(), size), static_cast<ssize_t>(size));
  auto* p = static_cast<volatile char*>(::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  long sum = 0;
  for (size_t i = 0; i < size; i += 4096) sum += p[i];  // every page resident
  EXPECT_EQ(sum, 7L * static_cast<long>(size / 4096));
  const uint64_t all = own_file_rss_except(""), without = own_file_rss_except(path);
  EXPECT_GT(without, 0u);  // the test binary's own pages
  EXPECT_GE(all - without, size - (64u << 10));
  EXPECT_LE(all - without, size);
  ::munmap(const_cast<char*>(p), size);
  ::close(fd);
  std::remove(path);
}

}  // namespace
}  // namespace ebb
