// Per-token logprobs: the log-softmax and top-k of one logits row, the queue that holds entries
// until their text is out, greedy decoding on a real model (the chosen token is the top one, and
// the top list is a sorted part of a distribution), and the runner's token events over its
// protocol (one entry per generated token, whose tokens spell the text).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/token_logprob.h"
#include "engine/batcher.h"
#include "engine/engine.h"
#include "engine/logprobs.h"
#include "runner/logprob_queue.h"
#include "test_support.h"

namespace ebb::test {
namespace {

using engine::row_logprobs;

TEST(RowLogprobs, LogSoftmaxAndTopK) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
  double z = 0;
  for (float l : logits) z += std::exp(l);
  const auto lp = row_logprobs(logits.data(), 5, 2, 3);
  EXPECT_NEAR(lp.chosen, 2.0 - std::log(z), 1e-5);
  ASSERT_EQ(lp.top.size(), 3u);
  EXPECT_EQ(lp.top[0].token, 1) << "a tie goes to the lower id, as the greedy sampler picks";
  EXPECT_EQ(lp.top[1].token, 3);
  EXPECT_EQ(lp.top[2].token, 2);
  EXPECT_NEAR(lp.top[0].logprob, 3.0 - std::log(z), 1e-5);
  EXPECT_EQ(lp.top[2].logprob, lp.chosen);
}

TEST(RowLogprobs, LimitsAndExtremes) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> logits = {0.0f, -inf, 1000.0f};
  auto lp = row_logprobs(logits.data(), 3, 1, 10);
  EXPECT_EQ(lp.chosen, engine::kMinLogprob) << "-inf is reported as OpenAI does, a finite floor";
  ASSERT_EQ(lp.top.size(), 3u) << "top_k is capped at the vocabulary";
  EXPECT_NEAR(lp.top[0].logprob, 0.0f, 1e-6) << "large logits do not overflow";
  EXPECT_EQ(lp.top[2].logprob, engine::kMinLogprob);
  EXPECT_TRUE(row_logprobs(logits.data(), 3, 0, 0).top.empty()) << "k = 0: no top list, no heap";
}

TEST(LogprobQueue, EntriesLeaveWithTheLastByteOfTheirText) {
  runner::LogprobQueue q(0);
  q.push({{"ab", -1}, {}});
  q.push({{"\xC3", -2}, {}});  // the first byte of é: the text stream holds it
  EXPECT_EQ(q.take(2).size(), 1u);
  q.push({{"\xA9", -3}, {}});
  EXPECT_TRUE(q.take(0).empty());
  auto both = q.take(2);  // "é" is out now
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1].chosen.logprob, -3);
  q.push({{"</", -4}, {}});  // a stop string's start: never released as text
  EXPECT_TRUE(q.take(0).empty());
  EXPECT_EQ(q.take_all().size(), 1u) << "at the end every entry goes out";
  EXPECT_TRUE(q.take_all().empty());
}

TEST(EngineLogprobs, GreedyTokenIsTheMostLikely) {
  engine::LoadParams p;
  p.path = model_20m();
  p.num_ctx = 256;
  p.num_thread = 2;
  engine::Engine e(p);
  SamplingOptions greedy;
  greedy.temperature = 0;
  greedy.repeat_penalty = 1.0f;
  engine::SamplerPtr sampler = e.make_sampler(greedy);
  engine::Batcher batch(e, 256);
  const auto prompt = e.tokenize("The quick brown fox jumps over", true);
  size_t pos = 0;
  int32_t row = -1;
  for (size_t i = 0; i < prompt.size(); ++i) row = batch.add(prompt[i], pos++, 0, i + 1 == prompt.size());
  for (int step = 0; step < 16; ++step) {
    ASSERT_EQ(batch.decode(), 0);
    const engine::Token t = batch.sample(sampler, row);
    const Logprob lp = batch.logprobs(row, t, 5);
    ASSERT_EQ(lp.top.size(), 5u);
    EXPECT_EQ(lp.chosen.token, e.piece(t));
    EXPECT_EQ(lp.top[0].token, lp.chosen.token) << "step " << step;
    EXPECT_EQ(lp.chosen.logprob, lp.top[0].logprob) << "step " << step;
    double mass = 0;
    for (size_t i = 0; i < lp.top.size(); ++i) {
      EXPECT_LE(lp.top[i].logprob, 0.0);
      EXPECT_LE(std::exp(lp.top[i].logprob), 1.0);
      if (i > 0) {
        EXPECT_GE(lp.top[i - 1].logprob, lp.top[i].logprob) << "most likely first";
      }
      mass += std::exp(lp.top[i].logprob);
    }
    EXPECT_LE(mass, 1.0 + 1e-5) << "a part of one distribution";
    EXPECT_EQ(batch.logprobs(row, t, 0).top.size(), 0u);
    batch.clear();
    row = batch.add(t, pos++, 0, true);
  }
}

// The runner's token events for a greedy generate that asks for logprobs.
struct Streamed {
  std::string text;
  std::vector<Logprob> entries;
  json done;
};

Streamed generate_with_logprobs(RunnerClient& r, uint64_t id, json options, int top) {
  r.send({{"type", "generate"},
          {"id", id},
          {"prompt", "Once upon a time"},
          {"raw", true},
          {"options", options},
          {"logprobs", true},
          {"top_logprobs", top}});
  Streamed s;
  for (;;) {
    json m = r.next_json();
    const std::string type = m.value("type", "");
    if (type == "token") {
      s.text += m.value("text", "");
      for (auto& e : logprobs_from_wire(m.value("logprobs", json::array()))) s.entries.push_back(std::move(e));
    } else if (type == "done" || type == "error" || m.empty()) {
      s.done = m;
      return s;
    }
  }
}

TEST(RunnerLogprobs, OneEntryPerGeneratedToken) {
  RunnerClient r;
  r.load({{"path", model_20m()}, {"num_ctx", 512}, {"num_parallel", 1}, {"num_thread", 2}});
  const json greedy = {{"temperature", 0}, {"repeat_penalty", 1.0}, {"num_predict", 12}};
  Streamed s = generate_with_logprobs(r, 1, greedy, 3);
  ASSERT_EQ(s.done.value("type", ""), "done") << s.done.dump();
  EXPECT_EQ(s.entries.size(), s.done.value("eval_count", 0u));
  std::string spelled;
  for (const auto& e : s.entries) {
    spelled += e.chosen.token;
    ASSERT_EQ(e.top.size(), 3u);
    EXPECT_EQ(e.top[0].token, e.chosen.token) << "greedy";
    EXPECT_EQ(e.top[0].logprob, e.chosen.logprob);
  }
  EXPECT_EQ(spelled, s.text);

  // A stop string's tokens are generated (eval_count) and keep their entries, though their text
  // is cut.
  json stopping = greedy;
  stopping["stop"] = {s.text.substr(s.text.size() / 2, 3)};
  Streamed cut = generate_with_logprobs(r, 2, stopping, 0);
  EXPECT_EQ(cut.entries.size(), cut.done.value("eval_count", 0u));
  EXPECT_LT(cut.text.size(), s.text.size());
  for (const auto& e : cut.entries) EXPECT_TRUE(e.top.empty());

  // Without "logprobs" the events carry none.
  r.send({{"type", "generate"}, {"id", 3}, {"prompt", "Once"}, {"raw", true}, {"options", greedy}});
  for (json m = r.next_json(); m.value("type", "") != "done" && !m.empty(); m = r.next_json())
    EXPECT_FALSE(m.contains("logprobs")) << m.dump();
}

TEST(RunnerLogprobs, TooManyAlternativesIs400) {
  RunnerClient r;
  r.load({{"path", model_20m()}, {"num_ctx", 256}, {"num_parallel", 1}, {"num_thread", 2}});
  r.send({{"type", "generate"}, {"id", 1}, {"prompt", "x"}, {"raw", true}, {"logprobs", true}, {"top_logprobs", 21}});
  const json e = r.next_json();
  EXPECT_EQ(e.value("type", ""), "error");
  EXPECT_EQ(e.value("status", 0), 400);
  EXPECT_EQ(e.value("message", ""), "top_logprobs must be between 0 and 20");
}

}  // namespace
}  // namespace ebb::test
