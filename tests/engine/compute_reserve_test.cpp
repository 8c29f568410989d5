// The context reserves compute for the outputs ebb asks for (one per sequence, or a causal embed
// chunk), not for a batch whose every token is an output. And what it reserves is enough: long
// prompts, several sequences and an embed chunk run without the compute buffer growing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/batcher.h"
#include "engine/engine.h"
#include "test_support.h"

namespace ebb::test {
namespace {

using engine::Engine;
using engine::Token;

std::vector<Token> long_prompt(const Engine& e, size_t n) {
  std::string text;
  for (int i = 0; text.size() < n * 8; ++i)
    text += "A river " + std::to_string(i) + " runs past the old mill by the hill. ";
  std::vector<Token> t = e.tokenize(text, true);
  EXPECT_GE(t.size(), n);
  t.resize(n);
  return t;
}

// Decodes `tokens` into `seq` from position 0 in batches of `chunk`; `embed` makes every token an
// output with embedding output on (an embed chunk), otherwise only the last token is an output.
void decode(engine::Batcher& b, const std::vector<Token>& tokens, int seq, size_t chunk, bool embed) {
  for (size_t first = 0; first < tokens.size(); first += chunk) {
    b.clear();
    for (size_t i = first; i < tokens.size() && i < first + chunk; ++i)
      b.add(tokens[i], i, seq, embed || i + 1 == tokens.size());
    ASSERT_EQ(embed ? b.decode_embeddings() : b.decode(), 0);
  }
}

TEST(ComputeReserve, HoldsNoLogitsForAWholeBatch) {
  engine::LoadParams p;
  p.path = model_20m();
  p.num_ctx = 2048;
  p.num_parallel = 2;
  p.num_batch = 512;
  p.num_thread = 2;
  engine::LoadParams dry_params = p;
  dry_params.dry_run = true;
  const uint64_t reserved = Engine(dry_params).memory().compute;

  Engine e(p);
  e.create_context();
  const uint64_t n_vocab = static_cast<uint64_t>(e.n_vocab());
  // llama.cpp's default reserve holds n_vocab floats for each of the batch's 512 tokens.
  EXPECT_LT(reserved, n_vocab * p.num_batch * sizeof(float)) << "n_vocab " << n_vocab;
  EXPECT_EQ(e.memory().compute, reserved);

  engine::Batcher batch(e, p.num_batch);
  decode(batch, long_prompt(e, 900), 0, p.num_batch, false);  // a prompt longer than a batch
  decode(batch, long_prompt(e, 300), 1, p.num_batch, false);
  e.clear_sequence(1);
  decode(batch, long_prompt(e, 200), 1, Engine::kEmbedTokensPerDecode, true);  // an embed input, in the runner's chunks
  ASSERT_NE(batch.embedding(0), nullptr);
  EXPECT_EQ(e.memory().compute, reserved) << "the compute buffer grew past its reserve";
}

}  // namespace
}  // namespace ebb::test
