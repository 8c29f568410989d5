// ebb's penalty sampler gives exactly the logits of llama.cpp's penalties sampler, over a window
// that fills and slides, for full candidate lists in id order and for reordered, cut ones.
#include "engine/penalty_sampler.h"

#include <gtest/gtest.h>
#include <llama.h>

#include <algorithm>
#include <random>
#include <vector>

namespace {

constexpr int32_t kVocab = 3000;

std::vector<llama_token_data> candidates(std::mt19937& rng) {
  std::normal_distribution<float> logit(0.0f, 3.0f);
  std::vector<llama_token_data> c(kVocab);
  for (int32_t i = 0; i < kVocab; ++i) c[i] = {i, logit(rng), 0.0f};
  return c;
}

std::vector<float> applied(llama_sampler* s, std::vector<llama_token_data> c) {
  llama_token_data_array a{c.data(), c.size(), -1, true};
  llama_sampler_apply(s, &a);
  std::vector<float> out(kVocab, -1e30f);
  for (size_t i = 0; i < a.size; ++i) out[a.data[i].id] = a.data[i].logit;
  return out;
}

TEST(PenaltySampler, MatchesLlamaCppAsTheWindowSlides) {
  for (auto [repeat, frequency, presence] :
       {std::tuple{1.1f, 0.0f, 0.0f}, std::tuple{1.3f, 0.2f, 0.5f}, std::tuple{1.0f, 0.1f, 0.0f}}) {
    const int32_t last_n = 16;
    llama_sampler* ours = ebb::engine::make_penalty_sampler(kVocab, last_n, repeat, frequency, presence);
    llama_sampler* theirs = llama_sampler_init_penalties(kVocab, last_n, repeat, frequency, presence);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> tok(0, 40);  // few distinct tokens: repeats in the window
    for (int step = 0; step < 60; ++step) {
      auto c = candidates(rng);
      ASSERT_EQ(applied(ours, c), applied(theirs, c)) << "step " << step;
      // Reordered and cut, as after a top-k: found by scanning.
      std::shuffle(c.begin(), c.end(), rng);
      c.resize(kVocab / 3);
      ASSERT_EQ(applied(ours, c), applied(theirs, c)) << "step " << step << ", shuffled";
      llama_token t = tok(rng);
      llama_sampler_accept(ours, t);
      llama_sampler_accept(theirs, t);
    }
    {
      auto c = candidates(rng);
      llama_token_data_array a{c.data(), c.size(), -1, true};
      llama_sampler_apply(ours, &a);
      EXPECT_FALSE(a.sorted) << "penalized logits are out of order";
    }
    llama_sampler* copy = llama_sampler_clone(ours);
    auto c = candidates(rng);
    EXPECT_EQ(applied(copy, c), applied(theirs, c));
    llama_sampler_reset(ours);
    EXPECT_EQ(applied(ours, c), applied(llama_sampler_init_penalties(kVocab, last_n, repeat, frequency, presence), c))
        << "a reset sampler penalizes nothing";
    llama_sampler_free(copy);
    llama_sampler_free(ours);
    llama_sampler_free(theirs);
  }
}

}  // namespace
