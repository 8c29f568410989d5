#pragma once
// The llama.cpp wrapper: src/engine is the only code that includes llama.h (the build links
// llama.cpp privately, so nothing above the engine can). One Engine = one model + (optionally)
// one context with n_parallel sequences; decoding goes through engine::Batcher (batcher.h).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "engine/file_prefetch.h"
#include "engine/load_params.h"
#include "engine/sampler.h"

struct llama_model;
struct llama_context;
struct llama_vocab;

namespace ebb::engine {

using Token = int32_t;
// What bos() returns for a vocabulary without a BOS token (LLAMA_TOKEN_NULL).
inline constexpr Token kNoToken = -1;

// How an embedding model turns per-token states into one vector (<arch>.pooling_type).
enum class Pooling { None, Mean, Cls, Last, Rank };

// Bytes per buffer type, as llama.cpp accounts them.
struct MemoryBreakdown {
  uint64_t weights = 0, kv = 0, compute = 0;
  // Dry runs only: resident host memory that the load and the context occupy beside their
  // buffers (vocabulary, tensor and graph metadata, the output buffer), and the CPU backend's
  // work buffer.
  uint64_t heap = 0;
  nlohmann::json per_buffer = nlohmann::json::array();  // [{buffer, weights, kv, compute}]
  nlohmann::json to_json() const;
};

void init_backend_once();

class Engine {
 public:
  explicit Engine(const LoadParams& p);  // throws std::runtime_error
  ~Engine();                             // defined where ChatTemplate is complete
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Context lifecycle: the warm tier frees the context and keeps the weights.
  // free_context also hands freed heap back to the OS (malloc_trim), so RSS drops at once.
  void create_context();
  void free_context();
  bool has_context() const { return ctx_ != nullptr; }

  // KV snapshots of one sequence (llama_state_seq_*). save: the state bytes (empty when the
  // sequence holds nothing or llama.cpp fails). restore: replaces the sequence's contents; a
  // snapshot saved with another num_parallel is re-streamed first. False when llama.cpp rejects
  // it (other KV type, flash_attn setting or model; too many cells), leaving the sequence empty.
  std::string save_sequence(int seq) const;
  // The same, written straight into `dst` (at most sequence_state_size bytes); returns the count.
  size_t sequence_state_size(int seq) const;
  size_t save_sequence_into(int seq, uint8_t* dst, size_t capacity) const;
  bool restore_sequence(int seq, std::string_view state);
  // Positions the sequence holds (pos_max + 1); 0 when empty.
  size_t sequence_length(int seq) const;
  // Sequence edits (llama_memory_seq_*); no-ops without a context. clear: the sequence holds
  // nothing. truncate: it keeps its first n positions. copy: dst becomes src's first n positions
  // (with one KV stream per sequence, llama.cpp copies the whole stream at the next decode).
  void clear_sequence(int seq);
  void truncate_sequence(int seq, size_t n);
  void copy_sequence(int src, int dst, size_t n);

  // llama.cpp's accounting. While the context is freed: the weights only (kv and compute 0).
  MemoryBreakdown memory() const;
  uint32_t n_ctx_train() const;
  uint32_t n_ctx_per_slot() const { return params_.num_ctx; }
  // Changes the per-slot context of the next create_context (capped at the trained length).
  void set_num_ctx(uint32_t num_ctx);
  const LoadParams& params() const { return params_; }
  // How long the weights took to load, and the last create_context.
  int64_t model_load_ns() const { return model_load_ns_; }
  // What the load read ahead of llama.cpp (engine/file_prefetch.h); zeros when the file was resident.
  const PrefetchResult& prefetch() const { return prefetch_; }
  int64_t context_ns() const { return context_ns_; }

  std::vector<Token> tokenize(const std::string& text, bool add_special) const;
  std::string piece(Token t) const;
  bool is_eog(Token t) const;
  Token bos() const;  // kNoToken when the vocabulary has none
  // Fill-in-the-middle tokens (prefix, suffix, middle); kNoToken where the vocabulary lacks one
  // (llama.cpp finds them from tokenizer.ggml.fim_*_token_id or by their text).
  struct FimTokens {
    Token pre = kNoToken, suf = kNoToken, mid = kNoToken;
    bool complete() const { return pre != kNoToken && suf != kNoToken && mid != kNoToken; }
  };
  FimTokens fim_tokens() const;
  int32_t n_vocab() const;
  // A sampler chain for this model's vocabulary (see engine/sampler.h); throws std::runtime_error.
  // With `chat`, its grammar replaces the format's.
  SamplerPtr make_sampler(const SamplingOptions& o, const ChatPrompt* chat = nullptr) const;

  // Renders chat messages with the model's template: Jinja (llama-common), then
  // libllama's built-in matcher, then a plain "role: content" layout.
  std::string apply_chat_template(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;
  // Tools and reasoning through the Jinja template (engine/chat_format.h); throws
  // std::invalid_argument when the template cannot render them.
  ChatPrompt render_chat(const ChatRequest& request) const { return templates_->render(request); }
  const ChatTemplate& chat_template() const { return *templates_; }

  // Embeddings. The context always has pooling NONE: callers switch per-token embedding output
  // on for a decode (Batcher::decode_embeddings) and pool themselves, so one context serves both
  // generation and embeddings, and inputs longer than a batch pool correctly.
  // Tokens of embed inputs per decode with causal attention. Embedding output makes every token
  // of the batch an output, logits included (n_vocab floats each), so the context reserves
  // compute for this many outputs, not for a whole batch: see create_context.
  static constexpr uint32_t kEmbedTokensPerDecode = 64;
  Pooling pooling() const;        // what the GGUF declares; None for generative models
  bool causal_attention() const;  // <arch>.attention.causal (default true)
  int32_t n_embd_out() const;     // length of one embedding vector
  // A GGUF metadata value as text; "" when absent.
  std::string metadata(const std::string& key) const;

 private:
  friend class Batcher;  // decodes and samples in ctx_

  LoadParams params_;
  llama_model* model_ = nullptr;
  llama_context* ctx_ = nullptr;
  const llama_vocab* vocab_ = nullptr;
  std::unique_ptr<ChatTemplate> templates_;
  std::map<std::string, uint64_t> predicted_mapped_;  // dry run: mmapped weight spans by buffer type
  MemoryBreakdown weights_only_;                      // memory() while the context is freed
  int64_t model_load_ns_ = 0;
  PrefetchResult prefetch_;
  uint64_t heap_model_ = 0, heap_context_ = 0;  // see MemoryBreakdown::heap
  int64_t context_ns_ = 0;
};

}  // namespace ebb::engine
