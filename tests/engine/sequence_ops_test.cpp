// The Engine's sequence operations (clear, truncate, copy, save, restore, length) and the
// Batcher that decodes into them, on a synthetic model. A sequence that was cut or copied must
// continue like one that only ever held the kept prefix; llama.cpp refuses a decode whose
// position does not follow the sequence's last one, so a cut that left positions behind fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/batcher.h"
#include "engine/engine.h"
#include "test_support.h"

namespace ebb::test {
namespace {

using engine::Batcher;
using engine::Engine;
using engine::Token;

// Logits of one computation in two sequences of one batch (CPU kernels may still sum in
// another order across streams).
constexpr float kSameTolerance = 1e-3f;

class SequenceOps : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine::LoadParams p;
    p.path = model_20m();
    p.num_ctx = 256;
    p.num_parallel = 3;
    p.num_batch = 128;
    p.num_thread = 2;
    engine_ = new Engine(p);
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  void SetUp() override {
    if (!engine_->has_context()) engine_->create_context();
    for (int s = 0; s < 3; ++s) engine_->clear_sequence(s);
    text_ = engine_->tokenize(
        "The quick brown fox jumps over the lazy dog near the bank of a slow river "
        "while the miller sings an old song about wheat and stones",
        true);
    ASSERT_GE(text_.size(), 30u);
  }

  // Decodes tokens into `seq` from `pos`; returns the logits of the last one.
  static std::vector<float> decode(Batcher& b, const std::vector<Token>& tokens, int seq, size_t pos) {
    b.clear();
    for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], pos + i, seq, i + 1 == tokens.size());
    if (b.decode() != 0) return {};
    const float* l = b.logits(-1);
    return std::vector<float>(l, l + engine_->n_vocab());
  }

  static std::vector<float> row(const Batcher& b, int32_t r) {
    const float* l = b.logits(r);
    return std::vector<float>(l, l + engine_->n_vocab());
  }

  static std::vector<Token> head(const std::vector<Token>& t, size_t n) { return {t.begin(), t.begin() + n}; }

  static float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size() || a.empty()) return INFINITY;
    float worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    return worst;
  }

  static Engine* engine_;
  std::vector<Token> text_;
};
Engine* SequenceOps::engine_ = nullptr;

TEST_F(SequenceOps, LengthCountsPositionsAndClearEmptiesOneSequence) {
  Batcher b(*engine_, 128);
  EXPECT_EQ(engine_->sequence_length(0), 0u);
  ASSERT_FALSE(decode(b, text_, 0, 0).empty());
  ASSERT_FALSE(decode(b, head(text_, 7), 1, 0).empty());
  EXPECT_EQ(engine_->sequence_length(0), text_.size());
  EXPECT_EQ(engine_->sequence_length(1), 7u);
  engine_->clear_sequence(0);
  EXPECT_EQ(engine_->sequence_length(0), 0u);
  EXPECT_EQ(engine_->sequence_length(1), 7u) << "clear touched another sequence";
  // A cleared sequence starts again at position 0.
  EXPECT_FALSE(decode(b, head(text_, 3), 0, 0).empty());
}

TEST_F(SequenceOps, TruncatedSequenceContinuesLikeItsPrefix) {
  Batcher b(*engine_, 128);
  const size_t keep = 12;
  // One batch: the whole text in sequence 0, only its prefix in sequence 1 (the reference).
  for (size_t i = 0; i < text_.size(); ++i) b.add(text_[i], i, 0, false);
  for (size_t i = 0; i < keep; ++i) b.add(text_[i], i, 1, false);
  ASSERT_EQ(b.decode(), 0);
  engine_->truncate_sequence(0, keep);
  EXPECT_EQ(engine_->sequence_length(0), keep);
  EXPECT_EQ(engine_->sequence_length(1), keep);
  // Both continue with the same token: the cut sequence must compute what the prefix does.
  b.clear();
  const int32_t cut = b.add(text_[keep], keep, 0, true);
  const int32_t ref = b.add(text_[keep], keep, 1, true);
  ASSERT_EQ(b.decode(), 0) << "decode after the cut failed: positions were left behind";
  EXPECT_LT(max_diff(row(b, cut), row(b, ref)), kSameTolerance);
  engine_->truncate_sequence(0, 100);  // beyond the end: nothing to cut
  EXPECT_EQ(engine_->sequence_length(0), keep + 1);
}

TEST_F(SequenceOps, CopyReplacesTheDestinationWithTheSourcePrefix) {
  Batcher b(*engine_, 128);
  const size_t n = 10;
  ASSERT_FALSE(decode(b, head(text_, 25), 1, 0).empty());  // the destination holds something else
  ASSERT_FALSE(decode(b, text_, 0, 0).empty());
  engine_->copy_sequence(0, 1, n);
  EXPECT_EQ(engine_->sequence_length(1), n);
  EXPECT_EQ(engine_->sequence_length(0), text_.size()) << "the source changed";
  // The copy holds the source's first n positions: cut the source there too, and both continue
  // alike (an empty or stale destination would not).
  engine_->truncate_sequence(0, n);
  b.clear();
  const int32_t copied = b.add(text_[n], n, 1, true);
  const int32_t source = b.add(text_[n], n, 0, true);
  ASSERT_EQ(b.decode(), 0);
  EXPECT_LT(max_diff(row(b, copied), row(b, source)), kSameTolerance);
}

TEST_F(SequenceOps, SaveAndRestoreMoveASequence) {
  Batcher b(*engine_, 128);
  const std::vector<float> original = decode(b, text_, 0, 0);
  ASSERT_FALSE(original.empty());
  const std::string state = engine_->save_sequence(0);
  ASSERT_FALSE(state.empty());
  ASSERT_TRUE(engine_->restore_sequence(2, state));
  EXPECT_EQ(engine_->sequence_length(2), text_.size());
  // The restored copy continues like the original.
  const std::vector<float> a = decode(b, {text_[3]}, 0, text_.size());
  const std::vector<float> c = decode(b, {text_[3]}, 2, text_.size());
  ASSERT_FALSE(a.empty());
  EXPECT_LT(max_diff(a, c), kSameTolerance);
  EXPECT_FALSE(engine_->restore_sequence(1, "not a state"));
  EXPECT_EQ(engine_->sequence_length(1), 0u);
}

TEST_F(SequenceOps, OperationsWithoutAContextDoNothing) {
  Batcher b(*engine_, 128);
  ASSERT_FALSE(decode(b, text_, 0, 0).empty());
  engine_->free_context();
  engine_->clear_sequence(0);
  engine_->truncate_sequence(0, 1);
  engine_->copy_sequence(0, 1, 1);
  EXPECT_EQ(engine_->sequence_length(0), 0u);
  EXPECT_TRUE(engine_->save_sequence(0).empty());
  EXPECT_NE(b.decode(), 0) << "a decode without a context must fail, not crash";
  engine_->create_context();  // the same Batcher decodes into the new context
  EXPECT_FALSE(decode(b, text_, 0, 0).empty());
}

TEST_F(SequenceOps, BatcherRowsAndCapacity) {
  Batcher b(*engine_, 4);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), 4u);
  for (int32_t i = 0; i < 4; ++i) EXPECT_EQ(b.add(text_[i], i, 0, false), i);
  EXPECT_EQ(b.size(), 4);
  EXPECT_THROW(b.add(text_[4], 4, 0, false), std::logic_error);
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.add(text_[0], 0, 0, true), 0);
}

TEST_F(SequenceOps, BatcherSamplesEachSequencesRow) {
  Batcher b(*engine_, 128);
  SamplingOptions greedy;
  greedy.temperature = 0.0f;
  auto sampler = engine_->make_sampler(greedy);
  // Two sequences with different prompts in one batch: each output row samples its own argmax.
  const std::vector<Token> other = engine_->tokenize("Numbers: one two three four five six", true);
  int32_t row0 = -1, row1 = -1;
  for (size_t i = 0; i < text_.size(); ++i) row0 = b.add(text_[i], i, 0, i + 1 == text_.size());
  for (size_t i = 0; i < other.size(); ++i) row1 = b.add(other[i], i, 1, i + 1 == other.size());
  ASSERT_EQ(b.decode(), 0);
  const float* l0 = b.logits(row0);
  const float* l1 = b.logits(row1);
  const int n = engine_->n_vocab();
  const Token best0 = static_cast<Token>(std::max_element(l0, l0 + n) - l0);
  const Token best1 = static_cast<Token>(std::max_element(l1, l1 + n) - l1);
  EXPECT_EQ(b.sample(sampler, row0), best0);
  EXPECT_EQ(b.sample(sampler, row1), best1);
}

TEST_F(SequenceOps, BatcherEmbeddingsGiveARowPerToken) {
  Batcher b(*engine_, 128);
  const size_t n = 8;
  for (size_t i = 0; i < n; ++i) b.add(text_[i], i, 0, true);
  for (size_t i = 0; i < n; ++i) b.add(text_[i], i, 1, true);  // the same input in another sequence
  ASSERT_EQ(b.decode_embeddings(), 0);
  const int32_t d = engine_->n_embd_out();
  for (int32_t row = 0; row < static_cast<int32_t>(n); ++row) {
    const float* a = b.embedding(row);
    const float* c = b.embedding(row + static_cast<int32_t>(n));
    ASSERT_NE(a, nullptr);
    ASSERT_NE(c, nullptr);
    float worst = 0;
    for (int32_t k = 0; k < d; ++k) worst = std::max(worst, std::fabs(a[k] - c[k]));
    EXPECT_LT(worst, 1e-3f) << "row " << row << ": one input, two sequences, different embeddings";
  }
  EXPECT_NE(std::vector<float>(b.embedding(0), b.embedding(0) + d),
            std::vector<float>(b.embedding(1), b.embedding(1) + d));
  // Generation decodes afterwards as before: embedding output is off again (only the marked
  // rows are outputs, so the last row has logits).
  engine_->clear_sequence(0);
  EXPECT_FALSE(decode(b, text_, 0, 0).empty());
}

}  // namespace
}  // namespace ebb::test
