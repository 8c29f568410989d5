// --kv-disk's files when things go wrong: a truncated or garbled file is skipped with a warning,
// one truncated after it was indexed is never restored, an unfinished write of a killed serve is
// removed at start, and a full disk drops the snapshot it could not write.
#include "supervisor/snapshot_disk.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "../common/scoped_tmpfs.h"
#include "../common/scratch_dir.h"

namespace ebb::supervisor {
namespace {

namespace fs = std::filesystem;

memory::Snapshot snapshot(size_t bytes, int32_t first_token) {
  memory::Snapshot s;
  s.key = {"/models/m.gguf", 1234, 5678, "f16"};
  s.n_ctx = 512;
  for (int32_t t = 0; t < 40; ++t) s.tokens.push_back(first_token + t);
  auto blob = SharedBlob::create(bytes);
  for (size_t i = 0; i < bytes; ++i) blob->data()[i] = static_cast<uint8_t>(i * 7);
  blob->seal(bytes);
  s.state = std::move(blob);
  return s;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& f : fs::directory_iterator(dir)) out.push_back(f.path());
  return out;
}

TEST(SnapshotDisk, WritesAndReadsBackByLongestPrefix) {
  const fs::path dir = test::scratch_dir("ebb-kvdisk-rw");
  SnapshotDisk disk(dir, 1 << 20);
  const memory::Snapshot s = snapshot(4096, 100);
  disk.store(s);
  disk.flush();
  ASSERT_EQ(disk.count(), 1u);
  std::vector<int32_t> prompt = s.tokens;
  prompt.push_back(7);
  auto got = disk.best_match(s.key, 512, prompt, 16);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->tokens, s.tokens);
  EXPECT_EQ(got->state->view(), s.state->view());
}

TEST(SnapshotDisk, StartUpSkipsBadFilesAndRemovesUnfinishedWrites) {
  const fs::path dir = test::scratch_dir("ebb-kvdisk-start");
  {
    SnapshotDisk disk(dir, 1 << 20);
    disk.store(snapshot(4096, 100));
    disk.store(snapshot(4096, 200));
    disk.flush();
    ASSERT_EQ(disk.count(), 2u);
  }
  auto files = files_in(dir);
  ASSERT_EQ(files.size(), 2u);
  fs::resize_file(files[0], fs::file_size(files[0]) - 10);             // truncated
  std::ofstream(dir / "garbage.ebbkv") << "EBBKV1\n\xff\xff\xff\x7f";  // a header length past the end
  std::ofstream(dir / "0123456789abcdef.ebbkv.tmp") << "half a write";
  SnapshotDisk disk(dir, 1 << 20);
  EXPECT_EQ(disk.count(), 1u) << "only the intact snapshot";
  EXPECT_FALSE(fs::exists(dir / "0123456789abcdef.ebbkv.tmp"));
  EXPECT_TRUE(fs::exists(dir / "garbage.ebbkv")) << "files ebb cannot read are left alone";
}

TEST(SnapshotDisk, AFileTruncatedAfterIndexingIsNeverRestored) {
  const fs::path dir = test::scratch_dir("ebb-kvdisk-trunc");
  SnapshotDisk disk(dir, 1 << 20);
  const memory::Snapshot s = snapshot(4096, 100);
  disk.store(s);
  disk.flush();
  auto files = files_in(dir);
  ASSERT_EQ(files.size(), 1u);
  fs::resize_file(files[0], fs::file_size(files[0]) / 2);
  EXPECT_FALSE(disk.best_match(s.key, 512, s.tokens, 16));
  EXPECT_EQ(disk.count(), 0u);
  EXPECT_FALSE(fs::exists(files[0]));
}

// A real full disk: a tmpfs of 16 KiB (CI runs as root).
TEST(SnapshotDisk, AFullDiskDropsTheSnapshotAndLeavesNoPartialFile) {
  const fs::path mnt = test::scratch_dir("ebb-kvdisk-full");
  test::ScopedTmpfs tmpfs(mnt, "16k");
  if (tmpfs.error() == EPERM) GTEST_SKIP() << "cannot mount a tmpfs here (EPERM)";
  ASSERT_EQ(tmpfs.error(), 0) << "mount: " << std::strerror(tmpfs.error());
  SnapshotDisk disk(mnt, 1 << 20);
  disk.store(snapshot(64 << 10, 100));
  disk.flush();
  EXPECT_EQ(disk.count(), 0u);
  EXPECT_TRUE(files_in(mnt).empty()) << "a partial file was left behind";
  // Room again: the next one is written.
  disk.store(snapshot(4096, 300));
  disk.flush();
  EXPECT_EQ(disk.count(), 1u);
}

}  // namespace
}  // namespace ebb::supervisor
