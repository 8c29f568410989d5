// The context reserves compute for the outputs ebb asks for (one per sequence, or a causal embed
// chunk), not for a batch whose every token is an output. And what it reserves is enough: long
// prompts, several sequences and an embed chunk run without the compute buffer growing.
#include <gtest/gtest.h>
#include <llama.h>

#include <string>
#include <vector>

#include "engine/engine.h"
#include "test_support.h"

namespace ebb::test {
namespace {

using engine::Engine;
using engine::Token;

std::vector<Token> long_prompt(const Engine& e, size_t n) {
  std::string text;
  for (int i = 0; text.size() < n * 8; ++i) text += "A river " + std::to_string(i) + " runs past the old mill by the hill. ";
  std::vector<Token> t = e.tokenize(text, true);
  EXPECT_GE(t.size(), n);
  t.resize(n);
  return t;
}

// Decodes `tokens` into `seq` from position `pos` in batches of `chunk`; `all_outputs` marks
// every token as an output (an embed chunk), otherwise only the last one.
void decode(Engine& e, const std::vector<Token>& tokens, int seq, size_t chunk, bool all_outputs) {
  llama_batch b = llama_batch_init(static_cast<int32_t>(chunk), 0, 1);
  for (size_t first = 0; first < tokens.size(); first += chunk) {
    b.n_tokens = 0;
    for (size_t i = first; i < tokens.size() && i < first + chunk; ++i) {
      int k = b.n_tokens++;
      b.token[k] = tokens[i];
      b.pos[k] = static_cast<llama_pos>(i);
      b.n_seq_id[k] = 1;
      b.seq_id[k][0] = seq;
      b.logits[k] = all_outputs || i + 1 == tokens.size();
    }
    ASSERT_EQ(llama_decode(e.ctx(), b), 0);
  }
  llama_batch_free(b);
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
  const uint64_t n_vocab = static_cast<uint64_t>(llama_vocab_n_tokens(e.vocab()));
  // llama.cpp's default reserve holds n_vocab floats for each of the batch's 512 tokens.
  EXPECT_LT(reserved, n_vocab * p.num_batch * sizeof(float)) << "n_vocab " << n_vocab;
  EXPECT_EQ(e.memory().compute, reserved);

  decode(e, long_prompt(e, 900), 0, p.num_batch, false);  // a prompt longer than a batch
  decode(e, long_prompt(e, 300), 1, p.num_batch, false);
  llama_memory_seq_rm(llama_get_memory(e.ctx()), 1, -1, -1);
  llama_set_embeddings(e.ctx(), true);  // an embed input, in the runner's chunks
  decode(e, long_prompt(e, 200), 1, Engine::kEmbedTokensPerDecode, true);
  llama_set_embeddings(e.ctx(), false);
  ASSERT_NE(llama_get_embeddings_ith(e.ctx(), 0), nullptr);
  EXPECT_EQ(e.memory().compute, reserved) << "the compute buffer grew past its reserve";
}

}  // namespace
}  // namespace ebb::test
