// Synthetic llama GGUF writer. Layout: the gguf API writes the header (metadata + tensor infos,
// padded to the data alignment), then each tensor's data is generated, quantized and streamed
// in row chunks, each tensor padded to the alignment. Weights depend only on (seed, tensor index,
// row), so the file is byte-identical for a seed whatever the chunking or thread count.
#include "engine/synth.h"

#include <ggml.h>
#include <gguf.h>
#include <llama.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>
#include <thread>

namespace ebb::engine {
namespace {

constexpr uint32_t kAlignment = 32;        // GGUF default, written as general.alignment
constexpr size_t kChunkFloats = 4u << 20;  // rows generated per step: about 16 MiB of f32
constexpr float kWeightStd = 0.02f;
constexpr uint32_t kMaxVocab = 4u << 20;

[[noreturn]] void fail(const std::string& msg) { throw std::runtime_error(msg); }

// ---------------------------------------------------------------------------------------------
// Quantization types

struct QuantInfo {
  const char* name;
  ggml_type type;
  llama_ftype ftype;
};

constexpr QuantInfo kQuants[] = {
    {"f32", GGML_TYPE_F32, LLAMA_FTYPE_ALL_F32},         {"f16", GGML_TYPE_F16, LLAMA_FTYPE_MOSTLY_F16},
    {"bf16", GGML_TYPE_BF16, LLAMA_FTYPE_MOSTLY_BF16},   {"q8_0", GGML_TYPE_Q8_0, LLAMA_FTYPE_MOSTLY_Q8_0},
    {"q4_0", GGML_TYPE_Q4_0, LLAMA_FTYPE_MOSTLY_Q4_0},   {"q4_1", GGML_TYPE_Q4_1, LLAMA_FTYPE_MOSTLY_Q4_1},
    {"q5_0", GGML_TYPE_Q5_0, LLAMA_FTYPE_MOSTLY_Q5_0},   {"q5_1", GGML_TYPE_Q5_1, LLAMA_FTYPE_MOSTLY_Q5_1},
    {"q2_k", GGML_TYPE_Q2_K, LLAMA_FTYPE_MOSTLY_Q2_K},   {"q3_k", GGML_TYPE_Q3_K, LLAMA_FTYPE_MOSTLY_Q3_K_S},
    {"q4_k", GGML_TYPE_Q4_K, LLAMA_FTYPE_MOSTLY_Q4_K_S}, {"q5_k", GGML_TYPE_Q5_K, LLAMA_FTYPE_MOSTLY_Q5_K_S},
    {"q6_k", GGML_TYPE_Q6_K, LLAMA_FTYPE_MOSTLY_Q6_K},
};

const QuantInfo& find_quant(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& q : kQuants) {
    if (lower == q.name) return q;
  }
  std::string known;
  for (const auto& q : kQuants) known += std::string(known.empty() ? "" : ", ") + q.name;
  fail("unknown quant '" + name + "' (supported: " + known + ")");
}

// ---------------------------------------------------------------------------------------------
// Dimensions

// Shape families by target size; layers are then fitted to the target. Feed-forward width
// follows llama: 8/3 * n_embd rounded up to a multiple of 256 (4096 -> 11008).
struct Preset {
  uint64_t up_to;
  uint32_t vocab, embd, head_dim;
};
constexpr Preset kPresets[] = {
    {3'000'000, 1024, 256, 64},
    {12'000'000, 4096, 256, 64},
    {40'000'000, 8192, 512, 64},
    {90'000'000, 32000, 512, 64},
    {250'000'000, 32000, 768, 64},
    {600'000'000, 32000, 1024, 64},
    {1'200'000'000, 32000, 1536, 128},
    {2'500'000'000, 32000, 2048, 128},
    {5'000'000'000, 32000, 3072, 128},
    {10'000'000'000, 32000, 4096, 128},
    {20'000'000'000, 32000, 5120, 128},
    {45'000'000'000, 32000, 6656, 128},
    {std::numeric_limits<uint64_t>::max(), 32000, 8192, 128},
};

uint32_t round_up(uint64_t v, uint64_t m) { return uint32_t((v + m - 1) / m * m); }

uint64_t fixed_params(const SynthResult& d) { return 2ull * d.n_vocab * d.n_embd + d.n_embd; }

uint64_t params_per_layer(const SynthResult& d) {
  const uint64_t e = d.n_embd, f = d.n_ff, e_kv = uint64_t(d.n_embd) / d.n_head * d.n_head_kv;
  return 2 * e + 2 * e * e + 2 * e * e_kv + 3 * e * f;
}

void validate(const SynthResult& d, const QuantInfo& q, const SynthSpec& spec) {
  if (d.n_layer == 0 || d.n_layer > 1000) fail("layers must be 1..1000");
  if (d.n_embd == 0 || d.n_ff == 0 || d.n_head == 0 || d.n_head_kv == 0) fail("dims must be positive");
  if (d.n_embd % d.n_head != 0)
    fail("embd " + std::to_string(d.n_embd) + " is not divisible by heads " + std::to_string(d.n_head));
  if ((d.n_embd / d.n_head) % 2 != 0) fail("head dim must be even (rope)");
  if (d.n_head % d.n_head_kv != 0) fail("heads must be a multiple of kv-heads");
  if (d.n_vocab < kSynthMinVocab || d.n_vocab > kMaxVocab)
    fail("vocab must be " + std::to_string(kSynthMinVocab) + ".." + std::to_string(kMaxVocab));
  const int64_t block = ggml_blck_size(q.type);
  if (d.n_embd % block != 0 || d.n_ff % block != 0)
    fail(std::string(q.name) + " needs embd and ffn to be multiples of " + std::to_string(block));
  if (spec.ctx == 0) fail("ctx must be positive");
}

// Depth that best fits the target; deeper models prefer a multiple of 4 layers when that stays
// within 10% (so 7B gives llama-2-7B's 32 layers rather than 33).
uint32_t fit_layers(const SynthResult& d, uint64_t target) {
  const double per_layer = double(params_per_layer(d));
  const double exact = (double(target) - double(fixed_params(d))) / per_layer;
  uint32_t layers = uint32_t(std::clamp(std::llround(exact), 1LL, 1000LL));
  const auto total = [&](uint32_t l) { return double(fixed_params(d)) + l * per_layer; };
  const uint32_t by4 = uint32_t(std::llround(exact / 4)) * 4;
  if (layers >= 8 && by4 > 0 && by4 <= 1000 && std::abs(total(by4) - double(target)) <= 0.1 * double(target))
    layers = by4;
  return layers;
}

const Preset& preset_for(const SynthSpec& spec) {
  for (const auto& p : kPresets) {
    if (spec.params > 0 ? spec.params <= p.up_to : spec.n_embd <= p.embd) return p;
  }
  return kPresets[std::size(kPresets) - 1];
}

// ---------------------------------------------------------------------------------------------
// Deterministic weights

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Roughly normal values (sum of four 16-bit uniforms) with the given std; one draw per value.
void fill_row(float* row, int64_t n, uint64_t seed, uint64_t tensor, uint64_t row_index, float std) {
  uint64_t state = seed ^ (tensor * 0xD1B54A32D192ED03ull);
  state = splitmix64(state) ^ (row_index * 0xA0761D6478BD642Full);
  splitmix64(state);
  constexpr float kMean = 4 * 32767.5f;
  const float scale = std / (65536.0f / std::sqrt(3.0f));
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t x = splitmix64(state);
    const float sum = float(x & 0xFFFF) + float((x >> 16) & 0xFFFF) + float((x >> 32) & 0xFFFF) + float(x >> 48);
    row[i] = (sum - kMean) * scale;
  }
}

struct TensorPlan {
  std::string name;
  int64_t ne0 = 0, ne1 = 1;  // ggml order: ne0 is the row length
  ggml_type type = GGML_TYPE_F32;
  bool is_norm = false;          // all ones, f32
  uint32_t zero_rows_below = 0;  // rows [0, n) are zero (output rows of reserved tokens)
};

std::vector<TensorPlan> plan_tensors(const SynthResult& d, ggml_type wtype, uint32_t n_reserved) {
  const int64_t e = d.n_embd, f = d.n_ff, v = d.n_vocab, e_kv = e / d.n_head * d.n_head_kv;
  std::vector<TensorPlan> t;
  auto matrix = [&](std::string name, int64_t ne0, int64_t ne1) { t.push_back({std::move(name), ne0, ne1, wtype}); };
  auto norm = [&](std::string name) { t.push_back({std::move(name), e, 1, GGML_TYPE_F32, true}); };
  matrix("token_embd.weight", e, v);
  norm("output_norm.weight");
  matrix("output.weight", e, v);
  // Reserved tokens (control, byte fallback) get logit 0 while the best real token is almost
  // surely positive, so greedy decoding never stops early and never emits them.
  t.back().zero_rows_below = n_reserved;
  for (uint32_t l = 0; l < d.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    norm(p + "attn_norm.weight");
    matrix(p + "attn_q.weight", e, e);
    matrix(p + "attn_k.weight", e, e_kv);
    matrix(p + "attn_v.weight", e, e_kv);
    matrix(p + "attn_output.weight", e, e);
    norm(p + "ffn_norm.weight");
    matrix(p + "ffn_gate.weight", e, f);
    matrix(p + "ffn_up.weight", e, f);
    matrix(p + "ffn_down.weight", f, e);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

constexpr const char* kSpaceMark = "\xE2\x96\x81";  // U+2581, SentencePiece's space
constexpr const char* kConsonants = "bcdfghjklmnprstvwz";
constexpr const char* kVowels = "aeiou";

size_t codepoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Pseudo-words of `syllables` consonant+vowel syllables, in a fixed scrambled order.
std::vector<std::string> pseudo_words(uint32_t syllables, size_t limit) {
  const uint64_t n_syl = std::strlen(kConsonants) * std::strlen(kVowels);
  uint64_t total = 1;
  for (uint32_t i = 0; i < syllables; ++i) total *= n_syl;
  std::vector<std::string> words;
  words.reserve(std::min<uint64_t>(total, limit));
  for (uint64_t i = 0; i < total && words.size() < limit; ++i) {
    uint64_t j = (i * 7919) % total;  // 7919 is prime and coprime with 90^k: a permutation
    std::string w;
    for (uint32_t s = 0; s < syllables; ++s, j /= n_syl) {
      w += kConsonants[j % n_syl / 5];
      w += kVowels[j % 5];
    }
    words.push_back(std::move(w));
  }
  return words;
}

// ---------------------------------------------------------------------------------------------
// Output

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};
struct GgufFree {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlFree {
  void operator()(ggml_context* c) const { ggml_free(c); }
};

void write_all(FILE* f, const void* data, size_t n, const std::string& path) {
  if (n && std::fwrite(data, 1, n, f) != n) fail("write to " + path + " failed: " + std::strerror(errno));
}

void set_metadata(gguf_context* g, const SynthSpec& spec, const SynthResult& d, const QuantInfo& q,
                  const SynthVocab& vocab) {
  const std::string name = spec.name.empty() ? "ebb-synth-" + format_param_count(d.params) : spec.name;
  gguf_set_val_str(g, "general.architecture", "llama");
  gguf_set_val_str(g, "general.name", name.c_str());
  gguf_set_val_u32(g, "general.alignment", kAlignment);
  gguf_set_val_u32(g, "general.file_type", q.ftype);
  gguf_set_val_u32(g, "general.quantization_version", GGML_QNT_VERSION);
  gguf_set_val_u32(g, "llama.context_length", spec.ctx);
  gguf_set_val_u32(g, "llama.embedding_length", d.n_embd);
  gguf_set_val_u32(g, "llama.feed_forward_length", d.n_ff);
  gguf_set_val_u32(g, "llama.attention.head_count", d.n_head);
  gguf_set_val_u32(g, "llama.attention.head_count_kv", d.n_head_kv);
  gguf_set_val_u32(g, "llama.block_count", d.n_layer);
  gguf_set_val_u32(g, "llama.rope.dimension_count", d.n_embd / d.n_head);
  gguf_set_val_u32(g, "llama.vocab_size", d.n_vocab);
  gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_f32(g, "llama.rope.freq_base", 10000.0f);
  if (spec.embedding_model) gguf_set_val_u32(g, "llama.pooling_type", 1);  // mean

  std::vector<const char*> pieces;
  pieces.reserve(vocab.pieces.size());
  for (const auto& p : vocab.pieces) pieces.push_back(p.c_str());
  gguf_set_val_str(g, "tokenizer.ggml.model", "llama");
  gguf_set_arr_str(g, "tokenizer.ggml.tokens", pieces.data(), pieces.size());
  gguf_set_arr_data(g, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, vocab.scores.data(), vocab.scores.size());
  gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, vocab.types.data(), vocab.types.size());
  gguf_set_val_u32(g, "tokenizer.ggml.unknown_token_id", 0);
  gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", 1);
  gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", 2);
  gguf_set_val_bool(g, "tokenizer.ggml.add_bos_token", true);
  gguf_set_val_bool(g, "tokenizer.ggml.add_eos_token", false);
  if (spec.fim) {
    gguf_set_val_u32(g, "tokenizer.ggml.fim_pre_token_id", d.n_vocab - 3);
    gguf_set_val_u32(g, "tokenizer.ggml.fim_suf_token_id", d.n_vocab - 2);
    gguf_set_val_u32(g, "tokenizer.ggml.fim_mid_token_id", d.n_vocab - 1);
  }
  // A family's template comes from a BPE model (Qwen, Llama 3, Mistral Nemo, ...), which puts no
  // space before the text after a special token; without this, SPM's "▁assistant" would not
  // match the template's "assistant" where llama-common's grammars expect it.
  if (!spec.chat_template.empty()) gguf_set_val_bool(g, "tokenizer.ggml.add_space_prefix", false);
  const std::string chatml =
      "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n"
      "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
  gguf_set_val_str(g, "tokenizer.chat_template",
                   spec.chat_template.empty() ? chatml.c_str() : spec.chat_template.c_str());
}

// Generates, converts and writes one tensor in row chunks, `threads` workers per chunk.
void stream_tensor(FILE* f, const TensorPlan& t, uint64_t tensor_index, uint64_t seed, unsigned threads,
                   std::vector<float>& src, std::vector<uint8_t>& dst, const std::string& path) {
  const size_t row_bytes = ggml_row_size(t.type, t.ne0);
  const int64_t chunk_rows = std::max<int64_t>(1, int64_t(kChunkFloats) / t.ne0);
  for (int64_t r0 = 0; r0 < t.ne1; r0 += chunk_rows) {
    const int64_t rows = std::min(chunk_rows, t.ne1 - r0);
    src.resize(size_t(rows * t.ne0));
    dst.resize(size_t(rows) * row_bytes);
    auto work = [&](int64_t a, int64_t b) {  // rows [a, b) of this chunk
      for (int64_t r = a; r < b; ++r) {
        float* row = src.data() + r * t.ne0;
        if (t.is_norm)
          std::fill(row, row + t.ne0, 1.0f);
        else if (uint64_t(r0 + r) < t.zero_rows_below)
          std::fill(row, row + t.ne0, 0.0f);
        else
          fill_row(row, t.ne0, seed, tensor_index, uint64_t(r0 + r), kWeightStd);
      }
      if (b > a) ggml_quantize_chunk(t.type, src.data(), dst.data(), a * t.ne0, b - a, t.ne0, nullptr);
    };
    const int64_t n_workers = std::min<int64_t>(threads, rows);
    const int64_t per = (rows + n_workers - 1) / n_workers;
    std::vector<std::thread> pool;
    for (int64_t w = 1; w < n_workers; ++w)
      pool.emplace_back(work, std::min(rows, w * per), std::min(rows, (w + 1) * per));
    work(0, std::min(rows, per));
    for (auto& th : pool) th.join();
    write_all(f, dst.data(), dst.size(), path);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

uint64_t parse_param_count(const std::string& text) {
  const auto bad = [&]() -> std::invalid_argument {
    return std::invalid_argument("invalid parameter count '" + text + "' (examples: 1M, 50M, 1.5B, 20000000)");
  };
  size_t i = 0, digits = 0;
  uint64_t whole = 0;
  double frac = 0, place = 0.1;
  for (; i < text.size() && std::isdigit((unsigned char)text[i]); ++i, ++digits) {
    if (whole > (std::numeric_limits<uint64_t>::max() - 9) / 10) throw bad();
    whole = whole * 10 + uint64_t(text[i] - '0');
  }
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && std::isdigit((unsigned char)text[i]); ++i, ++digits, place /= 10)
      frac += (text[i] - '0') * place;
  }
  if (digits == 0) throw bad();
  uint64_t mult = 1;
  if (i < text.size()) {
    switch (std::tolower((unsigned char)text[i++])) {
      case 'k': mult = 1'000; break;
      case 'm': mult = 1'000'000; break;
      case 'b':
      case 'g': mult = 1'000'000'000; break;
      case 't': mult = 1'000'000'000'000; break;
      default: throw bad();
    }
  }
  if (i != text.size()) throw bad();
  const long double value = ((long double)whole + frac) * mult;
  if (value < 1 || value > 1e15L) throw bad();
  return uint64_t(std::llroundl(value));
}

std::string format_param_count(uint64_t params) {
  static const std::pair<double, const char*> units[] = {{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}};
  for (const auto& [scale, suffix] : units) {
    if (params >= scale) {
      char buf[32];
      const double v = params / scale;
      std::snprintf(buf, sizeof buf, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v, suffix);
      return buf;
    }
  }
  return std::to_string(params);
}

SynthVocab synth_vocab(uint32_t n_vocab) {
  if (n_vocab < kSynthMinVocab) fail("vocab must be at least " + std::to_string(kSynthMinVocab));
  SynthVocab v;
  auto add = [&](std::string piece, float score, int32_t type) {
    v.pieces.push_back(std::move(piece));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0, LLAMA_TOKEN_TYPE_UNKNOWN);
  for (const char* s : {"<s>", "</s>", "<|im_start|>", "<|im_end|>"}) add(s, 0, LLAMA_TOKEN_TYPE_CONTROL);
  // Byte fallback: llama.cpp's SPM tokenizer looks up "<0xNN>" for characters outside the
  // vocabulary (and throws if absent). These are normal tokens, not byte tokens: they decode to
  // their literal, printable text, so the model can never emit broken UTF-8.
  // Newline and tab are their own text, as in real vocabularies (chat templates and tool-call
  // grammars write them); their ids stay where the byte tokens would be.
  for (int b = 0; b < 256; ++b) {
    if (b > 0x20 && b < 0x7F) continue;  // printable ASCII has real tokens
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    add(b == '\n' || b == '\t' ? std::string(1, char(b)) : buf, -1000, LLAMA_TOKEN_TYPE_NORMAL);
  }
  v.n_reserved = uint32_t(v.pieces.size());

  // Normal pieces, shortest first; a longer piece scores higher, so SPM merges prefer it.
  std::vector<std::string> normal;
  normal.push_back(kSpaceMark);
  for (char c = 0x21; c < 0x7F; ++c) normal.emplace_back(1, c);
  for (char c = 0x21; c < 0x7F; ++c) normal.push_back(kSpaceMark + std::string(1, c));
  for (uint32_t syllables = 1; v.pieces.size() + normal.size() < n_vocab; ++syllables) {
    const size_t missing = n_vocab - v.pieces.size() - normal.size();
    for (auto& w : pseudo_words(syllables, (missing + 1) / 2)) {
      if (v.pieces.size() + normal.size() < n_vocab) normal.push_back(w);
      if (v.pieces.size() + normal.size() < n_vocab) normal.push_back(kSpaceMark + w);
    }
  }
  for (size_t i = 0; i < normal.size(); ++i) {
    add(normal[i], float(codepoints(normal[i])) - 0.5f * float(i) / float(normal.size()), LLAMA_TOKEN_TYPE_NORMAL);
  }
  return v;
}

SynthResult synth_plan(const SynthSpec& spec) {
  const QuantInfo& q = find_quant(spec.quant);
  if (spec.params == 0 && (spec.n_layer == 0 || spec.n_embd == 0))
    fail("give a target size (--params) or at least --layers and --embd");
  const Preset& p = preset_for(spec);
  SynthResult d;
  d.quant = q.name;
  d.n_embd = spec.n_embd ? spec.n_embd : p.embd;
  d.n_vocab = spec.n_vocab ? spec.n_vocab : p.vocab;
  d.n_ff = spec.n_ff ? spec.n_ff : round_up(uint64_t(d.n_embd) * 8 / 3, 256);
  const uint32_t head_dim = d.n_embd % p.head_dim == 0 ? p.head_dim : 64;
  d.n_head = spec.n_head ? spec.n_head : std::max<uint32_t>(1, d.n_embd / head_dim);
  d.n_head_kv = spec.n_head_kv ? spec.n_head_kv : d.n_head;
  d.n_layer = spec.n_layer ? spec.n_layer : 1;
  validate(d, q, spec);
  if (spec.n_layer == 0) d.n_layer = fit_layers(d, spec.params);
  d.params = fixed_params(d) + uint64_t(d.n_layer) * params_per_layer(d);
  return d;
}

SynthResult synth_model(const SynthSpec& spec) {
  if (spec.out.empty()) fail("no output path");
  SynthResult d = synth_plan(spec);
  const QuantInfo& q = find_quant(spec.quant);
  SynthVocab vocab = synth_vocab(d.n_vocab);
  if (spec.fim) {
    const char* fim[] = {"<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"};
    for (uint32_t i = 0; i < 3; ++i) {
      const uint32_t id = d.n_vocab - 3 + i;
      vocab.pieces[id] = fim[i];
      vocab.types[id] = LLAMA_TOKEN_TYPE_CONTROL;
    }
  }
  const std::vector<TensorPlan> tensors = plan_tensors(d, q.type, vocab.n_reserved);

  // Tensor infos need ggml_tensor headers; no data is allocated.
  ggml_init_params ip{ggml_tensor_overhead() * (tensors.size() + 1), nullptr, /*no_alloc=*/true};
  std::unique_ptr<ggml_context, GgmlFree> meta(ggml_init(ip));
  std::unique_ptr<gguf_context, GgufFree> g(gguf_init_empty());
  if (!meta || !g) fail("out of memory");
  set_metadata(g.get(), spec, d, q, vocab);
  for (const auto& t : tensors) {
    ggml_tensor* x = t.ne1 == 1 && t.is_norm ? ggml_new_tensor_1d(meta.get(), t.type, t.ne0)
                                             : ggml_new_tensor_2d(meta.get(), t.type, t.ne0, t.ne1);
    ggml_set_name(x, t.name.c_str());
    gguf_add_tensor(g.get(), x);
  }

  std::vector<uint8_t> header(gguf_get_meta_size(g.get()));
  gguf_get_meta_data(g.get(), header.data());

  const std::string partial = spec.out + ".partial";
  std::vector<char> iobuf(4u << 20);  // declared first: outlives the FILE that uses it
  std::unique_ptr<FILE, FileCloser> f(std::fopen(partial.c_str(), "wb"));
  if (!f) fail("cannot create " + partial + ": " + std::strerror(errno));
  try {
    std::setvbuf(f.get(), iobuf.data(), _IOFBF, iobuf.size());
    write_all(f.get(), header.data(), header.size(), partial);
    const uint64_t data_start = header.size();
    if (data_start % kAlignment != 0) fail("internal: header is not aligned");

    const unsigned threads = spec.threads ? spec.threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<float> src;
    std::vector<uint8_t> dst;
    const char zeros[kAlignment] = {};
    uint64_t pos = 0;  // bytes written after the header
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (pos != gguf_get_tensor_offset(g.get(), int64_t(i))) fail("internal: offset mismatch at " + tensors[i].name);
      stream_tensor(f.get(), tensors[i], i, spec.seed, threads, src, dst, partial);
      const uint64_t size = gguf_get_tensor_size(g.get(), int64_t(i));
      const uint64_t padded = (size + kAlignment - 1) / kAlignment * kAlignment;
      write_all(f.get(), zeros, padded - size, partial);
      pos += padded;
    }
    if (std::fflush(f.get()) != 0) fail("write to " + partial + " failed: " + std::strerror(errno));
    f.reset();
    d.file_bytes = data_start + pos;
    std::error_code ec;
    if (std::filesystem::file_size(partial, ec) != d.file_bytes || ec) fail("internal: file size mismatch");
    std::filesystem::rename(partial, spec.out, ec);
    if (ec) fail("cannot rename " + partial + " to " + spec.out + ": " + ec.message());
  } catch (...) {
    f.reset();
    std::error_code ec;
    std::filesystem::remove(partial, ec);
    throw;
  }
  return d;
}

}  // namespace ebb::engine
