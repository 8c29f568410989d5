// Continuous batching must not change what a request computes. A prompt decoded alone and the
// same prompt decoded in seq 0 while 7 other sequences share every batch give the same greedy
// tokens and (within float noise) the same logits. CPU kernels may sum in another order when the
// batch is larger, so the comparison stops at the first step where the lone run's top two logits
// are closer than kMinMargin: from there a legitimate tie-break could pick either token.
// One batch composition repeated gives bit-identical logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/batcher.h"
#include "engine/engine.h"
#include "test_support.h"

namespace ebb::test {
namespace {

using engine::Engine;
using engine::Token;

constexpr int kSeqs = 8;
constexpr int kSteps = 24;
constexpr float kMinMargin = 1e-3f;
constexpr float kLogitTolerance = 2e-2f;

using Logits = std::vector<float>;

struct Top2 {
  Token best = 0;
  float margin = 0;
};

Top2 top2(const float* logits, int n) {
  int a = 0, b = -1;
  for (int i = 1; i < n; ++i) {
    if (logits[i] > logits[a]) {
      b = a;
      a = i;
    } else if (b < 0 || logits[i] > logits[b]) {
      b = i;
    }
  }
  return {a, logits[a] - logits[b]};
}

class Batching : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine::LoadParams p;
    p.path = model_20m();
    p.num_ctx = 256;
    p.num_parallel = kSeqs;
    p.num_batch = 512;
    p.num_thread = 2;
    engine_ = new Engine(p);
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }

  // Greedy decoding of `prompts[i]` in seq i, all sequences in every batch. Returns seq 0's
  // logits after the prompt and after each generated token.
  static std::vector<Logits> run(const std::vector<std::string>& prompts) {
    for (int s = 0; s < kSeqs; ++s) engine_->clear_sequence(s);
    const int n_vocab = engine_->n_vocab();
    const int n = static_cast<int>(prompts.size());
    engine::Batcher batch(*engine_, 512);
    std::vector<int> pos(n, 0), row(n, -1);
    auto add = [&](Token t, int seq, bool logits) {
      int i = batch.add(t, pos[seq]++, seq, logits);
      if (logits) row[seq] = i;
    };
    for (int s = 0; s < n; ++s) {
      auto tokens = engine_->tokenize(prompts[s], true);
      for (size_t k = 0; k < tokens.size(); ++k) add(tokens[k], s, k + 1 == tokens.size());
    }
    std::vector<Logits> out;
    for (int step = 0; step <= kSteps; ++step) {
      EXPECT_EQ(batch.decode(), 0);
      const float* first = batch.logits(row[0]);
      out.emplace_back(first, first + n_vocab);
      std::vector<Token> next(n);
      for (int s = 0; s < n; ++s) next[s] = top2(batch.logits(row[s]), n_vocab).best;
      batch.clear();
      for (int s = 0; s < n; ++s) add(next[s], s, true);
    }
    return out;
  }

  static Engine* engine_;
};
Engine* Batching::engine_ = nullptr;

const std::string kPrompt = "The quick brown fox jumps over the lazy dog and keeps running";

std::vector<std::string> crowd() {
  std::vector<std::string> prompts = {kPrompt};
  for (int i = 1; i < kSeqs; ++i)
    prompts.push_back("another request number " + std::to_string(i) + std::string(i * 3, 'x'));
  return prompts;
}

TEST_F(Batching, SameCompositionIsBitIdentical) {
  auto a = run(crowd());
  auto b = run(crowd());
  ASSERT_EQ(a.size(), b.size());
  for (size_t step = 0; step < a.size(); ++step) EXPECT_EQ(a[step], b[step]) << "step " << step;
  EXPECT_EQ(run({kPrompt}), run({kPrompt}));
}

TEST_F(Batching, AloneAndAmongEightAgreeUntilANearTie) {
  auto alone = run({kPrompt});
  auto crowded = run(crowd());
  const int n_vocab = static_cast<int>(alone[0].size());
  int compared = 0;
  for (size_t step = 0; step < alone.size(); ++step) {
    Top2 a = top2(alone[step].data(), n_vocab), c = top2(crowded[step].data(), n_vocab);
    float worst = 0;
    for (int i = 0; i < n_vocab; ++i) worst = std::max(worst, std::fabs(alone[step][i] - crowded[step][i]));
    EXPECT_LT(worst, kLogitTolerance) << "step " << step;
    if (a.margin < kMinMargin) break;  // a near tie: the next token may legitimately differ
    ASSERT_EQ(a.best, c.best) << "step " << step << " (margin " << a.margin << ")";
    ++compared;
  }
  EXPECT_GE(compared, 8) << "too few steps compared to mean anything";
}

}  // namespace
}  // namespace ebb::test
