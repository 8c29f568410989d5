// runner::Slot keeps its cached tokens and its KV sequence in step, reset() ends a request
// without touching the cache, and the scheduler's slot choices (runner/scheduler.h).
#include <gtest/gtest.h>

#include <vector>

#include "engine/batcher.h"
#include "engine/engine.h"
#include "runner/scheduler.h"
#include "runner/slot.h"
#include "test_support.h"

namespace ebb::test {
namespace {

using runner::Slot;
using runner::Token;

std::vector<Slot> slots_with(const std::vector<std::vector<Token>>& caches) {
  std::vector<Slot> slots;
  for (size_t i = 0; i < caches.size(); ++i) {
    slots.emplace_back(static_cast<int>(i));
    for (Token t : caches[i]) slots.back().push(t);
  }
  return slots;
}

std::vector<Token> iota(Token from, size_t n) {
  std::vector<Token> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = from + static_cast<Token>(i);
  return v;
}

TEST(Slot, ResetEndsTheRequestAndKeepsTheCache) {
  Slot s(3);
  s.push(5);
  s.push(6);
  s.active = true;
  s.request_id = 42;
  s.prompt = {5, 6, 7};
  s.prefill_pos = 2;
  s.next = 9;
  s.options.num_predict = 7;
  s.text.emplace(std::vector<std::string>{"stop"});
  s.generated = 4;
  s.prompt_evaluated = 2;
  s.restored_tokens = 1;
  s.restore_ns = 100;
  s.shared_tokens = 3;
  s.started = s.prefill_done = runner::Clock::now();
  s.batch_index = 1;
  s.embed.emplace(std::vector<std::vector<int32_t>>{{1, 2}}, engine::Pooling::Mean, false, 4);
  s.reset();
  EXPECT_FALSE(s.active);
  EXPECT_EQ(s.request_id, 0u);
  EXPECT_TRUE(s.prompt.empty());
  EXPECT_EQ(s.prefill_pos, 0u);
  EXPECT_FALSE(s.next);
  EXPECT_FALSE(s.sampler);
  EXPECT_EQ(s.options.num_predict, SamplingOptions{}.num_predict);
  EXPECT_FALSE(s.text);
  EXPECT_EQ(s.generated, 0);
  EXPECT_EQ(s.prompt_evaluated, 0);
  EXPECT_EQ(s.restored_tokens, 0);
  EXPECT_EQ(s.restore_ns, 0);
  EXPECT_EQ(s.shared_tokens, 0);
  EXPECT_EQ(s.started, runner::Clock::time_point{});
  EXPECT_EQ(s.batch_index, -1);
  EXPECT_FALSE(s.embed);
  EXPECT_FALSE(s.prefilling());
  EXPECT_EQ(s.seq(), 3);
  EXPECT_EQ(s.cache(), (std::vector<Token>{5, 6})) << "reset must not touch the KV mirror";
}

TEST(Scheduler, BestFreeSlotHasTheLongestPrefix) {
  auto slots = slots_with({iota(0, 4), iota(0, 10), iota(100, 20)});
  const std::vector<Token> prompt = iota(0, 8);
  size_t len = 99;
  EXPECT_EQ(runner::best_free_slot(slots, prompt, len), &slots[1]);
  EXPECT_EQ(len, 8u);
  slots[1].active = true;
  EXPECT_EQ(runner::best_free_slot(slots, prompt, len), &slots[0]);
  EXPECT_EQ(len, 4u);
  slots[0].active = slots[2].active = true;
  EXPECT_EQ(runner::best_free_slot(slots, prompt, len), nullptr);
  EXPECT_EQ(len, 0u);
}

TEST(Scheduler, SnapshotsAndEmbedsGoToTheFreeSlotCachingLeast) {
  auto slots = slots_with({iota(0, 5), {}, iota(0, 2)});
  EXPECT_EQ(runner::least_cached_free_slot(slots), &slots[1]);
  slots[1].active = true;
  EXPECT_EQ(runner::least_cached_free_slot(slots), &slots[2]);
  slots[0].active = slots[2].active = true;
  EXPECT_EQ(runner::least_cached_free_slot(slots), nullptr);
}

TEST(Scheduler, ABusySlotsPrefixIsSharedOnlyWhenItSavesEnough) {
  const size_t gain = runner::kMinSharedPrefix;
  auto slots = slots_with({iota(0, 100), iota(0, 10)});
  slots[0].active = true;
  const std::vector<Token> prompt = iota(0, 80);
  size_t len = 0;
  EXPECT_EQ(runner::shared_prefix_source(slots, prompt, 80 - gain, len), &slots[0]);
  EXPECT_EQ(len, 80u);
  EXPECT_EQ(runner::shared_prefix_source(slots, prompt, 80 - gain + 1, len), nullptr);
  slots[0].embed.emplace(std::vector<std::vector<int32_t>>{{1}}, engine::Pooling::Mean, false, 4);
  EXPECT_EQ(runner::shared_prefix_source(slots, prompt, 0, len), nullptr) << "an embed slot shares nothing";
}

TEST(Scheduler, SaveBeforeOverwriteAndSnapshotThresholds) {
  const size_t gain = runner::kMinReuseGain;
  EXPECT_TRUE(runner::worth_saving_before_overwrite(gain, 0));
  EXPECT_FALSE(runner::worth_saving_before_overwrite(gain - 1, 0));
  EXPECT_FALSE(runner::worth_saving_before_overwrite(100, 50)) << "keeps half: the same conversation";
  EXPECT_TRUE(runner::worth_saving_before_overwrite(100, 49));
  EXPECT_FALSE(runner::worth_saving_before_overwrite(20, 5)) << "loses fewer than the minimum gain";
  EXPECT_TRUE(runner::worth_asking_for_snapshot(0, gain));
  EXPECT_FALSE(runner::worth_asking_for_snapshot(1, gain));
}

// The KV operations change the sequence and the cached tokens together.
TEST(Slot, KvOperationsKeepTheMirrorInStep) {
  engine::LoadParams p;
  p.path = model_20m();
  p.num_ctx = 128;
  p.num_parallel = 2;
  p.num_batch = 64;
  p.num_thread = 2;
  engine::Engine e(p);
  engine::Batcher b(e, 64);
  std::vector<Slot> slots = slots_with({{}, {}});
  Slot& a = slots[0];
  Slot& c = slots[1];
  const std::vector<Token> tokens = e.tokenize("one two three four five six seven eight nine ten", true);
  ASSERT_GE(tokens.size(), 8u);
  for (Token t : tokens) {
    b.add(t, a.cache().size(), a.seq(), false);
    a.push(t);
  }
  ASSERT_EQ(b.decode(), 0);
  EXPECT_EQ(e.sequence_length(a.seq()), a.cache().size());

  a.truncate(e, 5);
  EXPECT_EQ(a.cache(), std::vector<Token>(tokens.begin(), tokens.begin() + 5));
  EXPECT_EQ(e.sequence_length(a.seq()), 5u);

  c.copy_from(e, a, 3);
  EXPECT_EQ(c.cache(), std::vector<Token>(tokens.begin(), tokens.begin() + 3));
  EXPECT_EQ(e.sequence_length(c.seq()), 3u);

  const std::string state = e.save_sequence(a.seq());
  EXPECT_FALSE(c.restore(e, state, std::vector<Token>(4, 1))) << "5 positions for 4 tokens";
  EXPECT_TRUE(c.cache().empty());
  EXPECT_EQ(e.sequence_length(c.seq()), 0u);
  EXPECT_TRUE(c.restore(e, state, std::vector<Token>(a.cache())));
  EXPECT_EQ(c.cache(), a.cache());
  EXPECT_EQ(e.sequence_length(c.seq()), 5u);

  a.clear(e);
  EXPECT_TRUE(a.cache().empty());
  EXPECT_EQ(e.sequence_length(a.seq()), 0u);
}

}  // namespace
}  // namespace ebb::test
