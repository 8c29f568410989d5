#include "engine/tiny_model_run.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/synth.h"
#include "llama.h"

namespace ebb::engine {

void run_tiny_model() {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/ebb-tiny-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + path);
  ::close(fd);
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove{path};

  SynthSpec spec;
  spec.out = path;
  spec.n_layer = 2;
  spec.n_embd = 128;
  spec.n_ff = 256;
  spec.n_head = 4;
  spec.n_head_kv = 4;
  spec.n_vocab = kSynthMinVocab;
  spec.ctx = 256;
  spec.threads = 1;
  synth_model(spec);

  LoadParams p;
  p.path = path;
  p.num_ctx = 256;
  p.num_batch = 64;
  Engine e(p);
  std::vector<Token> prompt = e.tokenize("a short prompt that wakes the kernels of this runner", true);
  llama_batch b = llama_batch_init(static_cast<int32_t>(prompt.size()), 0, 1);
  auto decode = [&](const std::vector<Token>& tokens, llama_pos pos) {
    b.n_tokens = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      b.token[i] = tokens[i];
      b.pos[i] = pos + static_cast<llama_pos>(i);
      b.n_seq_id[i] = 1;
      b.seq_id[i][0] = 0;
      b.logits[i] = i + 1 == tokens.size();
      ++b.n_tokens;
    }
    return llama_decode(e.ctx(), b) == 0;
  };
  bool ok = decode(prompt, 0) && decode({prompt.back()}, static_cast<llama_pos>(prompt.size()));  // a prefill, then one step
  llama_batch_free(b);
  if (!ok) throw std::runtime_error("the tiny model did not decode");
}

}  // namespace ebb::engine
