// ebb synth: generated GGUFs load in llama.cpp with the requested metadata, are reproducible,
// decode to printable UTF-8 and run a greedy decode.
#include "engine/synth.h"

#include <gtest/gtest.h>
#include <llama.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace ebb::engine;

namespace {

struct ModelFree {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextFree {
  void operator()(llama_context* c) const { llama_free(c); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelFree>;
using ContextPtr = std::unique_ptr<llama_context, ContextFree>;

ModelPtr load(const std::string& path) {
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  return ModelPtr(llama_model_load_from_file(path.c_str(), mp));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string meta(const llama_model* m, const char* key) {
  char buf[512];
  const int n = llama_model_meta_val_str(m, key, buf, sizeof buf);
  return n < 0 ? std::string("<missing>") : std::string(buf);
}

// Valid UTF-8 with no control characters (C0, DEL, C1).
bool printable_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = s[i];
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07;
      len = 4;
    } else
      return false;
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    // Newline and tab are text (the vocabulary has them, as real ones do); other controls are not.
    if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) return false;
    i += len;
  }
  return true;
}

std::string piece(const llama_vocab* v, llama_token t, bool special) {
  char buf[256];
  const int n = llama_token_to_piece(v, t, buf, sizeof buf, 0, special);
  return n < 0 ? std::string("<too long>") : std::string(buf, n);
}

class SynthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
    llama_backend_init();
    char tmpl[] = "/tmp/ebb-synth-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string path(const std::string& name) { return dir_ + "/" + name; }

  // A small model, written once per name.
  static std::string tiny(const std::string& name, const std::string& quant = "q8_0", uint64_t seed = 1,
                          uint64_t params = 1'000'000) {
    const std::string out = path(name);
    if (!fs::exists(out)) {
      SynthSpec s;
      s.out = out;
      s.params = params;
      s.quant = quant;
      s.seed = seed;
      s.ctx = 4096;
      synth_model(s);
    }
    return out;
  }

  static std::string dir_;
};
std::string SynthTest::dir_;

TEST(SynthParams, ParsesCounts) {
  EXPECT_EQ(parse_param_count("50M"), 50'000'000u);
  EXPECT_EQ(parse_param_count("1.5B"), 1'500'000'000u);
  EXPECT_EQ(parse_param_count("430m"), 430'000'000u);
  EXPECT_EQ(parse_param_count("1M"), 1'000'000u);
  EXPECT_EQ(parse_param_count("100k"), 100'000u);
  EXPECT_EQ(parse_param_count("20000000"), 20'000'000u);
  EXPECT_EQ(parse_param_count("7B"), 7'000'000'000u);
  for (const char* bad : {"", "M", "abc", "-5M", "1.5X", "5MB", "0", "1e9", ".", "1..5M"}) {
    EXPECT_THROW(parse_param_count(bad), std::invalid_argument) << bad;
  }
}

TEST(SynthPlan, DimsFollowTheTarget) {
  for (uint64_t target : {10'000'000ull, 20'000'000ull, 50'000'000ull, 120'000'000ull, 430'000'000ull, 1'000'000'000ull,
                          3'000'000'000ull, 7'000'000'000ull, 13'000'000'000ull}) {
    SynthSpec s;
    s.params = target;
    const SynthResult d = synth_plan(s);
    EXPECT_NEAR(double(d.params), double(target), 0.15 * double(target)) << target;
    EXPECT_EQ(d.n_embd % 256, 0u) << target;
    EXPECT_EQ(d.n_ff % 256, 0u) << target;
    const uint32_t head_dim = d.n_embd / d.n_head;
    EXPECT_TRUE(head_dim == 64 || head_dim == 128) << target;
    if (target >= 50'000'000) {
      EXPECT_EQ(d.n_vocab, 32000u);
    }
  }
  SynthSpec s;
  s.params = 7'000'000'000;
  const SynthResult llama7b = synth_plan(s);  // the llama-2-7B shape
  EXPECT_EQ(llama7b.n_embd, 4096u);
  EXPECT_EQ(llama7b.n_ff, 11008u);
  EXPECT_EQ(llama7b.n_layer, 32u);
  EXPECT_EQ(llama7b.n_head, 32u);

  s.params = 1'000'000;
  const SynthResult tiny = synth_plan(s);
  EXPECT_EQ(tiny.n_layer, 1u);
  EXPECT_EQ(tiny.n_embd, 256u);
  EXPECT_LE(tiny.n_vocab, 2048u);
}

TEST(SynthPlan, ExplicitDimsOverride) {
  SynthSpec s;
  s.params = 50'000'000;
  s.n_head_kv = 2;
  s.n_vocab = 4096;
  const SynthResult d = synth_plan(s);
  EXPECT_EQ(d.n_head_kv, 2u);
  EXPECT_EQ(d.n_vocab, 4096u);
  EXPECT_NEAR(double(d.params), 50e6, 0.15 * 50e6);  // layers refit to the target

  SynthSpec e;
  e.n_layer = 2;
  e.n_embd = 512;
  const SynthResult x = synth_plan(e);
  EXPECT_EQ(x.n_layer, 2u);
  EXPECT_EQ(x.n_ff, 1536u);
}

TEST(SynthPlan, RejectsBadSpecs) {
  SynthSpec s;
  s.params = 1'000'000;
  s.quant = "q9_9";
  EXPECT_THROW(synth_plan(s), std::runtime_error);
  s.quant = "q8_0";
  s.n_head = 3;  // 256 is not divisible by 3
  EXPECT_THROW(synth_plan(s), std::runtime_error);
  s.n_head = 4;
  s.n_head_kv = 3;
  EXPECT_THROW(synth_plan(s), std::runtime_error);
  SynthSpec none;  // neither params nor dims
  EXPECT_THROW(synth_plan(none), std::runtime_error);
  SynthSpec kquant;
  kquant.n_layer = 1;
  kquant.n_embd = 320;
  kquant.quant = "q4_k";  // rows must be multiples of 256
  EXPECT_THROW(synth_plan(kquant), std::runtime_error);
  SynthSpec no_out;
  no_out.params = 1'000'000;
  EXPECT_THROW(synth_model(no_out), std::runtime_error);
}

TEST(SynthVocab, UniqueAndSized) {
  for (uint32_t n : {kSynthMinVocab, 1024u, 32000u}) {
    const SynthVocab v = synth_vocab(n);
    ASSERT_EQ(v.pieces.size(), n);
    EXPECT_EQ(std::set<std::string>(v.pieces.begin(), v.pieces.end()).size(), n);
    EXPECT_EQ(v.pieces[2], "</s>");
  }
}

TEST_F(SynthTest, LoadsWithRequestedMetadata) {
  const std::string file = tiny("meta.gguf");
  SynthSpec s;
  s.params = 1'000'000;
  const SynthResult d = synth_plan(s);
  ModelPtr m = load(file);
  ASSERT_TRUE(m);
  EXPECT_EQ(llama_model_n_ctx_train(m.get()), 4096);
  EXPECT_EQ(llama_model_n_embd(m.get()), int(d.n_embd));
  EXPECT_EQ(llama_model_n_layer(m.get()), int(d.n_layer));
  EXPECT_EQ(llama_model_n_head(m.get()), int(d.n_head));
  EXPECT_EQ(llama_model_n_head_kv(m.get()), int(d.n_head_kv));
  EXPECT_EQ(llama_vocab_n_tokens(llama_model_get_vocab(m.get())), int(d.n_vocab));
  EXPECT_EQ(llama_model_n_params(m.get()), d.params);
  EXPECT_EQ(meta(m.get(), "general.architecture"), "llama");
  EXPECT_EQ(meta(m.get(), "general.file_type"), "7");
  EXPECT_EQ(fs::file_size(file) % 32, 0u);
  const char* tmpl = llama_model_chat_template(m.get(), nullptr);
  ASSERT_NE(tmpl, nullptr);
  EXPECT_NE(std::string(tmpl).find("<|im_start|>"), std::string::npos);
}

TEST_F(SynthTest, TwentyMillionLoads) {
  SynthSpec s;
  s.out = path("20m.gguf");
  s.params = 20'000'000;
  s.ctx = 8192;
  const SynthResult d = synth_model(s);
  EXPECT_NEAR(double(d.params), 20e6, 0.15 * 20e6);
  EXPECT_EQ(d.file_bytes, fs::file_size(s.out));
  EXPECT_FALSE(fs::exists(s.out + ".partial"));
  ModelPtr m = load(s.out);
  ASSERT_TRUE(m);
  EXPECT_EQ(llama_model_n_ctx_train(m.get()), 8192);
  EXPECT_EQ(llama_model_n_params(m.get()), d.params);
}

TEST_F(SynthTest, SameSeedSameBytesOtherSeedDiffers) {
  const std::string a = read_file(tiny("seed1a.gguf", "q8_0", 1));
  const std::string b = read_file(tiny("seed1b.gguf", "q8_0", 1));
  const std::string c = read_file(tiny("seed2.gguf", "q8_0", 2));
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b);
  EXPECT_EQ(a.size(), c.size());
  EXPECT_FALSE(a == c);

  SynthSpec one_thread;  // the thread count must not change the bytes
  one_thread.out = path("seed1-1thread.gguf");
  one_thread.params = 1'000'000;
  one_thread.ctx = 4096;
  one_thread.threads = 1;
  synth_model(one_thread);
  EXPECT_TRUE(read_file(one_thread.out) == a);
}

TEST_F(SynthTest, QuantTypesLoad) {
  for (const char* q : {"f16", "q8_0", "q4_0", "q4_k"}) {
    const std::string file = tiny(std::string("quant-") + q + ".gguf", q);
    ModelPtr m = load(file);
    EXPECT_TRUE(m) << q;
  }
  EXPECT_LT(fs::file_size(path("quant-q4_0.gguf")), fs::file_size(path("quant-q8_0.gguf")));
  EXPECT_LT(fs::file_size(path("quant-q8_0.gguf")), fs::file_size(path("quant-f16.gguf")));
}

TEST_F(SynthTest, EveryTokenDecodesToPrintableUtf8) {
  SynthSpec s;  // the full default vocabulary on a tiny model
  s.out = path("vocab32k.gguf");
  s.params = 1'000'000;
  s.n_vocab = 32000;
  synth_model(s);
  ModelPtr m = load(s.out);
  ASSERT_TRUE(m);
  const llama_vocab* v = llama_model_get_vocab(m.get());
  const int n = llama_vocab_n_tokens(v);
  int empty = 0;
  for (llama_token t = 0; t < n; ++t) {
    for (bool special : {false, true}) {
      const std::string p = piece(v, t, special);
      EXPECT_TRUE(printable_utf8(p)) << "token " << t << " '" << p << "'";
      empty += p.empty();
    }
  }
  EXPECT_EQ(empty, 5);  // only the 5 special tokens render empty, and only without `special`
}

TEST_F(SynthTest, GreedyDecodeRunsToTheLimit) {
  for (const char* q : {"q8_0", "q4_0"}) {
    ModelPtr m = load(tiny(std::string("quant-") + q + ".gguf", q));
    ASSERT_TRUE(m);
    const llama_vocab* v = llama_model_get_vocab(m.get());
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256;
    cp.n_batch = 256;
    cp.n_threads = cp.n_threads_batch = 1;  // tiny model; immune to a busy machine
    ContextPtr ctx(llama_init_from_model(m.get(), cp));
    ASSERT_TRUE(ctx);

    // Newlines, accents and emoji are outside the vocabulary: they must tokenize, not throw.
    const std::string prompt = "<|im_start|>user\nhéllo wörld 🙂 tab\there<|im_end|>\n<|im_start|>assistant\n";
    std::vector<llama_token> tokens(prompt.size() + 8);
    const int n_prompt =
        llama_tokenize(v, prompt.data(), int(prompt.size()), tokens.data(), int(tokens.size()), true, true);
    ASSERT_GT(n_prompt, 0);
    tokens.resize(n_prompt);

    std::string text;
    llama_batch batch = llama_batch_get_one(tokens.data(), n_prompt);
    llama_token next = 0;
    const int n_vocab = llama_vocab_n_tokens(v);
    for (int i = 0; i < 32; ++i) {
      ASSERT_EQ(llama_decode(ctx.get(), batch), 0) << q;
      const float* logits = llama_get_logits_ith(ctx.get(), -1);
      ASSERT_NE(logits, nullptr);
      for (int t = 0; t < n_vocab; ++t) ASSERT_TRUE(std::isfinite(logits[t])) << q << " token " << t;
      next = llama_token(std::max_element(logits, logits + n_vocab) - logits);
      ASSERT_FALSE(llama_vocab_is_eog(v, next)) << q << " stopped after " << i << " tokens";
      text += piece(v, next, false);
      batch = llama_batch_get_one(&next, 1);
    }
    EXPECT_TRUE(printable_utf8(text)) << text;
    EXPECT_FALSE(text.empty());
  }
}

TEST_F(SynthTest, EmbeddingModelLoadsAndEmbeds) {
  SynthSpec s;
  s.out = path("embed.gguf");
  s.params = 1'000'000;
  s.embedding_model = true;
  synth_model(s);
  ModelPtr m = load(s.out);
  ASSERT_TRUE(m);
  EXPECT_EQ(meta(m.get(), "llama.pooling_type"), "1");
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 128;
  cp.embeddings = true;
  cp.n_threads = cp.n_threads_batch = 1;
  ContextPtr ctx(llama_init_from_model(m.get(), cp));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(llama_pooling_type(ctx.get()), LLAMA_POOLING_TYPE_MEAN);
  const llama_vocab* v = llama_model_get_vocab(m.get());
  std::vector<llama_token> tokens(64);
  const int n = llama_tokenize(v, "hello world", 11, tokens.data(), int(tokens.size()), true, false);
  ASSERT_GT(n, 0);
  ASSERT_EQ(llama_decode(ctx.get(), llama_batch_get_one(tokens.data(), n)), 0);
  const float* e = llama_get_embeddings_seq(ctx.get(), 0);
  ASSERT_NE(e, nullptr);
  for (int i = 0; i < llama_model_n_embd(m.get()); ++i) ASSERT_TRUE(std::isfinite(e[i]));
}

}  // namespace
