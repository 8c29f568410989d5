// The supervisor's KV snapshot cache: longest-prefix matching by model identity, LRU within a
// byte budget, and what leaves the cache handed back (for --kv-disk).
#include <gtest/gtest.h>

#include <cstring>

#include "memory/snapshot_cache.h"

namespace ebb::memory {
namespace {

const SnapshotKey kModel{"/m/a.gguf", 1000, 42, "f16"};

Snapshot snap(std::vector<int32_t> tokens, size_t state_bytes, SnapshotKey key = kModel, uint32_t n_ctx = 4096) {
  auto blob = SharedBlob::create(state_bytes);
  std::memset(blob->data(), 7, state_bytes);
  blob->seal(state_bytes);
  return Snapshot{key, n_ctx, std::move(tokens), std::move(blob)};
}

TEST(SnapshotCache, LongestCommonPrefixWinsAmongMatchingKeys) {
  SnapshotCache c(1 << 20);
  ASSERT_TRUE(c.put(snap({1, 2, 3}, 100)));
  ASSERT_TRUE(c.put(snap({1, 2, 3, 4, 5}, 100)));
  ASSERT_TRUE(c.put(snap({1, 2, 3, 4, 5, 6, 7}, 100, {"/m/other.gguf", 1000, 42, "f16"})));
  auto best = c.best_match(kModel, 4096, {1, 2, 3, 4, 5, 6, 7, 8});
  ASSERT_TRUE(best);
  EXPECT_EQ(best->tokens.size(), 5u) << "the other model's longer snapshot does not count";
  EXPECT_FALSE(c.best_match(kModel, 4096, {9, 9}));
  EXPECT_FALSE(c.best_match(kModel, 4096, {1, 2, 3, 4, 5, 6}, /*min_prefix=*/6)) << "5 < the minimum";
  EXPECT_FALSE(c.best_match(kModel, 8192, {1, 2, 3})) << "saved with a smaller context";
  EXPECT_FALSE(c.best_match({"/m/a.gguf", 1000, 43, "f16"}, 4096, {1, 2, 3})) << "the file changed (mtime)";
}

TEST(SnapshotCache, EvictsLeastRecentlyUsedAndHandsItOver) {
  const size_t state = 1000;
  const uint64_t one = snap({1, 2}, state).bytes();
  SnapshotCache c(2 * one);
  c.put(snap({1, 2}, state));
  c.put(snap({3, 4}, state));
  ASSERT_TRUE(c.best_match(kModel, 0, {1, 2}));  // {1,2} is now the most recently used
  std::vector<Snapshot> evicted;
  c.put(snap({5, 6}, state), &evicted);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].tokens, (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(evicted[0].state->view().size(), state) << "handed over with its bytes";
  EXPECT_EQ(c.count(), 2u);
  EXPECT_LE(c.used(), c.budget());
}

TEST(SnapshotCache, TooLargeIsRefusedButHandedOver) {
  SnapshotCache c(500);
  std::vector<Snapshot> evicted;
  EXPECT_FALSE(c.put(snap({1}, 1000), &evicted));
  EXPECT_EQ(c.count(), 0u);
  ASSERT_EQ(evicted.size(), 1u) << "so that --kv-disk can still keep it";
}

TEST(SnapshotCache, SameTokensReplaceAndTakeAllEmpties) {
  SnapshotCache c(1 << 20);
  c.put(snap({1, 2, 3}, 100));
  c.put(snap({1, 2, 3}, 200));
  EXPECT_EQ(c.count(), 1u);
  EXPECT_EQ(c.best_match(kModel, 0, {1, 2, 3})->state->size(), 200u);
  EXPECT_TRUE(c.has_any(kModel));
  auto all = c.take_all();
  EXPECT_EQ(all.size(), 1u);
  EXPECT_EQ(c.count(), 0u);
  EXPECT_EQ(c.used(), 0u);
  EXPECT_FALSE(c.has_any(kModel));
}

TEST(SnapshotCache, CommonPrefix) {
  EXPECT_EQ(common_prefix({1, 2, 3}, {1, 2, 4}), 2u);
  EXPECT_EQ(common_prefix({}, {1}), 0u);
  EXPECT_EQ(common_prefix({5, 6}, {5, 6}), 2u);
}

}  // namespace
}  // namespace ebb::memory
