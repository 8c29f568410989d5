#include "engine/tiny_model_run.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/batcher.h"
#include "engine/engine.h"
#include "engine/synth.h"

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
  Batcher batch(e, static_cast<uint32_t>(prompt.size()));
  auto decode = [&](const std::vector<Token>& tokens, size_t pos) {
    batch.clear();
    for (size_t i = 0; i < tokens.size(); ++i) batch.add(tokens[i], pos + i, 0, i + 1 == tokens.size());
    return batch.decode() == 0;
  };
  bool ok = decode(prompt, 0) && decode({prompt.back()}, prompt.size());  // a prefill, then one step
  if (!ok) throw std::runtime_error("the tiny model did not decode");
}

}  // namespace ebb::engine
