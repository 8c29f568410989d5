// Measured process memory from /proc.
#include "common/process_memory.h"

#include <gtest/gtest.h>

#include <cstring>
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

}  // namespace
}  // namespace ebb
