// KV snapshots at the engine level: a sequence saved, its context freed and re-created, and the
// state restored continues exactly as if nothing happened. Plus the layout helper that moves a
// snapshot between contexts with different num_parallel.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/batcher.h"
#include "engine/engine.h"
#include "engine/seq_state.h"
#include "test_support.h"

namespace ebb::test {
namespace {

using engine::Engine;
using engine::Token;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

engine::LoadParams params_20m(uint32_t num_parallel = 1) {
  engine::LoadParams p;
  p.path = model_20m();
  p.num_ctx = 1024;
  p.num_parallel = num_parallel;
  p.num_thread = 2;
  return p;
}

// ~300 prompt tokens of ordinary text.
std::vector<Token> prompt_300(const Engine& e) {
  std::string text;
  for (int i = 0; text.size() < 4000; ++i)
    text += "The quick brown fox " + std::to_string(i) + " jumps over the lazy dog near the river bank. ";
  std::vector<Token> t = e.tokenize(text, true);
  EXPECT_GE(t.size(), 300u);
  t.resize(300);
  return t;
}

// Decodes into one engine's sequences and reads the last output's logits back.
class Decoder {
 public:
  explicit Decoder(Engine& e) : e_(e), batch_(e, 512) {}

  // Decodes tokens into `seq` starting at `pos`; logits for the last one.
  void decode(const std::vector<Token>& tokens, int seq, size_t pos) {
    batch_.clear();
    for (size_t i = 0; i < tokens.size(); ++i) batch_.add(tokens[i], pos + i, seq, i + 1 == tokens.size());
    ASSERT_EQ(batch_.decode(), 0);
  }

  std::vector<float> last_logits() const {
    const float* l = batch_.logits(-1);
    return std::vector<float>(l, l + e_.n_vocab());
  }

  // Greedy continuation of `seq` whose next position is `pos`, from the logits already computed.
  std::vector<Token> greedy(int seq, size_t pos, int n) {
    std::vector<Token> out;
    for (int i = 0; i < n; ++i) {
      std::vector<float> l = last_logits();
      Token t = static_cast<Token>(std::max_element(l.begin(), l.end()) - l.begin());
      out.push_back(t);
      decode({t}, seq, pos++);
    }
    return out;
  }

 private:
  Engine& e_;
  engine::Batcher batch_;
};

TEST(Snapshot, RestoredSequenceContinuesIdentically) {
  Engine e(params_20m());
  Decoder d(e);
  const std::vector<Token> prompt = prompt_300(e);
  const std::vector<Token> head(prompt.begin(), prompt.end() - 1);

  // Cold: the head, then the last token alone, then 16 greedy tokens.
  d.decode(head, 0, 0);
  d.decode({prompt.back()}, 0, 299);
  const std::vector<float> cold_logits = d.last_logits();
  const std::vector<Token> cold = d.greedy(0, 300, 16);

  // Warm: the head, saved; the context freed and re-created; restored; the same continuation.
  e.free_context();
  e.create_context();
  d.decode(head, 0, 0);
  auto t0 = Clock::now();
  const std::string state = e.save_sequence(0);
  const double save_ms = ms_since(t0);
  ASSERT_FALSE(state.empty());
  e.free_context();
  EXPECT_EQ(e.sequence_length(0), 0u);
  t0 = Clock::now();
  e.create_context();
  const double create_ms = ms_since(t0);
  EXPECT_EQ(e.sequence_length(0), 0u);
  t0 = Clock::now();
  ASSERT_TRUE(e.restore_sequence(0, state));
  const double restore_ms = ms_since(t0);
  EXPECT_EQ(e.sequence_length(0), head.size());
  d.decode({prompt.back()}, 0, 299);
  EXPECT_TRUE(d.last_logits() == cold_logits) << "logits after restore differ";
  EXPECT_EQ(d.greedy(0, 300, 16), cold);
  std::printf("[snapshot] 299 tokens: %.2f MiB, save %.2f ms, new context %.2f ms, restore %.2f ms\n",
              state.size() / 1048576.0, save_ms, create_ms, restore_ms);
}

TEST(Snapshot, MovesBetweenSequencesAndSlotCounts) {
  std::vector<Token> prompt, cold;
  std::string state;
  {
    Engine one(params_20m(1));
    Decoder d(one);
    prompt = prompt_300(one);
    const std::vector<Token> head(prompt.begin(), prompt.end() - 1);
    d.decode(head, 0, 0);
    state = one.save_sequence(0);
    d.decode({prompt.back()}, 0, 299);
    cold = d.greedy(0, 300, 16);
  }
  EXPECT_EQ(engine::seq_state_streams(state), 1u);
  Engine three(params_20m(3));  // sequence 2 of three: another stream count and stream
  ASSERT_TRUE(three.restore_sequence(2, state));
  EXPECT_EQ(three.sequence_length(2), 299u);
  EXPECT_EQ(three.sequence_length(0), 0u);
  Decoder d3(three);
  d3.decode({prompt.back()}, 2, 299);
  EXPECT_EQ(d3.greedy(2, 300, 16), cold);

  // And back: saved from sequence 2 of three, restored into sequence 0 of one.
  const std::string from_three = three.save_sequence(2);
  EXPECT_EQ(engine::seq_state_streams(from_three), 3u);
  Engine one_again(params_20m(1));
  ASSERT_TRUE(one_again.restore_sequence(0, from_three));
  EXPECT_EQ(one_again.sequence_length(0), 316u);
}

TEST(Snapshot, RejectsForeignState) {
  engine::LoadParams base = params_20m();
  base.flash_attn = false;  // explicit, so that "f16 with flash attention" below is foreign
  Engine e(base);
  Decoder(e).decode(e.tokenize("hello there", true), 0, 0);
  std::string state = e.save_sequence(0);
  ASSERT_FALSE(state.empty());
  EXPECT_FALSE(e.restore_sequence(0, "garbage that is not a state"));
  EXPECT_EQ(e.sequence_length(0), 0u);
  std::string truncated = state.substr(0, state.size() / 2);
  EXPECT_FALSE(e.restore_sequence(0, truncated));
  EXPECT_EQ(e.sequence_length(0), 0u);

  for (auto [kv_type, flash_attn] : {std::pair{"q8_0", true}, std::pair{"f32", false}, std::pair{"f16", true}}) {
    engine::LoadParams other_params = params_20m();
    other_params.kv_cache_type = kv_type;  // other rows, or V stored the other way round
    other_params.flash_attn = flash_attn;
    Engine other(other_params);
    EXPECT_FALSE(other.restore_sequence(0, state)) << kv_type << " flash_attn " << flash_attn;
    EXPECT_EQ(other.sequence_length(0), 0u);
  }
  EXPECT_TRUE(e.restore_sequence(0, state));
}

// The layout helper on hand-made states: header, then one section among empty ones.
std::string make_state(uint32_t n_stream, uint32_t at, const std::string& section) {
  auto u32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  std::string s = u32(0xaf143cd8) + u32(1) + u32(n_stream);
  for (uint32_t i = 0; i < n_stream; ++i) s += i == at ? section : u32(0);
  return s;
}

TEST(SeqState, Restreams) {
  const std::string section = std::string("\x05\0\0\0", 4) + "cells and rows";
  const std::string a = make_state(4, 2, section);
  EXPECT_EQ(engine::seq_state_streams(a), 4u);
  EXPECT_EQ(engine::restream_seq_state(a, 1), make_state(1, 0, section));
  EXPECT_EQ(engine::restream_seq_state(a, 3), make_state(3, 0, section));
  EXPECT_EQ(engine::restream_seq_state(make_state(1, 0, section), 2), make_state(2, 0, section));
  EXPECT_EQ(engine::restream_seq_state(make_state(2, 5, ""), 3), make_state(3, 5, ""));  // empty sequence
  EXPECT_FALSE(engine::restream_seq_state("short", 2));
  EXPECT_FALSE(engine::restream_seq_state(a, 0));
  std::string bad_tail = a;
  bad_tail.back() = 1;  // the trailing section is not empty
  EXPECT_FALSE(engine::restream_seq_state(bad_tail, 2));
  EXPECT_FALSE(engine::restream_seq_state(a.substr(0, 14), 2));
}

}  // namespace
}  // namespace ebb::test
