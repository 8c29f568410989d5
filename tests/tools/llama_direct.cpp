// Reference: greedy generation with libllama alone, no ebb code. Used by the integration test
// that checks ebb's greedy output is token-identical.
// usage: llama_direct MODEL PROMPT N_PREDICT N_CTX N_BATCH
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "llama.h"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s MODEL PROMPT N_PREDICT N_CTX N_BATCH\n", argv[0]);
    return 2;
  }
  const std::string prompt = argv[2];
  const int n_predict = std::atoi(argv[3]);
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();
  auto mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) return 1;
  auto cp = llama_context_default_params();
  cp.n_ctx = std::atoi(argv[4]);
  cp.n_batch = cp.n_ubatch = std::atoi(argv[5]);
  cp.n_seq_max = 1;
  // flash_attn_type stays llama.cpp's default (auto), as in ebb.
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) return 1;
  const llama_vocab* vocab = llama_model_get_vocab(model);
  int n = -llama_tokenize(vocab, prompt.data(), prompt.size(), nullptr, 0, true, true);
  std::vector<llama_token> toks(n);
  llama_tokenize(vocab, prompt.data(), prompt.size(), toks.data(), n, true, true);
  llama_sampler* greedy = llama_sampler_init_greedy();
  std::string out;
  llama_batch batch = llama_batch_get_one(toks.data(), toks.size());
  for (int i = 0; i < n_predict; ++i) {
    if (llama_decode(ctx, batch) != 0) return 1;
    llama_token t = llama_sampler_sample(greedy, ctx, -1);
    if (llama_vocab_is_eog(vocab, t)) break;
    char buf[256];
    int len = llama_token_to_piece(vocab, t, buf, sizeof buf, 0, false);
    out.append(buf, len > 0 ? len : 0);
    static llama_token next;
    next = t;
    batch = llama_batch_get_one(&next, 1);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  llama_sampler_free(greedy);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
