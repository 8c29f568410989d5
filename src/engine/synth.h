#pragma once
// `ebb synth`: writes synthetic llama-architecture GGUFs (seeded random weights, a printable
// vocabulary generated here) for tests, benchmarks and the demo. Tensors are streamed to disk one
// at a time, so multi-GB models never sit in memory.
#include <cstdint>
#include <string>
#include <vector>

namespace ebb::engine {

struct SynthSpec {
  std::string out;             // output .gguf path (written via "<out>.partial", then renamed)
  uint64_t params = 0;         // target parameter count; 0 = use the explicit dims below
  std::string quant = "q8_0";  // f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_k q3_k q4_k q5_k q6_k
  uint32_t ctx = 8192;         // llama.context_length
  uint64_t seed = 1;
  // Explicit dims; 0 = derive (from params, or defaults when params == 0).
  uint32_t n_layer = 0, n_embd = 0, n_ff = 0, n_head = 0, n_head_kv = 0, n_vocab = 0;
  bool embedding_model = false;  // adds llama.pooling_type = mean
  uint32_t threads = 0;          // 0 = hardware concurrency
  std::string name;              // general.name; empty = "ebb-synth-<params>"
  std::string chat_template;     // tokenizer.chat_template (Jinja); empty = a plain ChatML one
  // Fill-in-the-middle: the last three ids become the control tokens <|fim_prefix|>,
  // <|fim_suffix|>, <|fim_middle|> (as Qwen2.5-Coder names them), with their
  // tokenizer.ggml.fim_*_token_id keys; every other id keeps its piece.
  bool fim = false;
};

struct SynthResult {
  uint64_t params = 0;
  uint64_t file_bytes = 0;
  uint32_t n_layer = 0, n_embd = 0, n_ff = 0, n_head = 0, n_head_kv = 0, n_vocab = 0;
  std::string quant;
};

// The dims synth_model() would use for a spec (no file is written). Throws std::runtime_error.
SynthResult synth_plan(const SynthSpec& spec);

// Writes spec.out. Throws std::runtime_error with a clear message on bad specs or I/O errors.
SynthResult synth_model(const SynthSpec& spec);

// "50M", "1.5B", "430m", "100k", "20000000" -> count. Throws std::invalid_argument.
uint64_t parse_param_count(const std::string& text);

// "20.1M", "6.74B": the short form used in summaries and general.name.
std::string format_param_count(uint64_t params);

// The vocabulary synth writes (pieces in SentencePiece form, "▁" = space), ids in order.
// Ids 0..4 are <unk> <s> </s> <|im_start|> <|im_end|>; eos is </s>.
struct SynthVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;  // llama_token_type values: 1 normal, 2 unknown, 3 control
  uint32_t n_reserved = 0;     // ids below this are special or byte-fallback tokens
};
SynthVocab synth_vocab(uint32_t n_vocab);
constexpr uint32_t kSynthMinVocab = 512;

}  // namespace ebb::engine
