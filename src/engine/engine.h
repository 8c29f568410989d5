#pragma once
// The llama.cpp wrapper: the only code that includes llama.h (together with src/runner).
// One Engine = one model + (optionally) one context with n_parallel sequences.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/chat_template.h"

struct llama_model;
struct llama_context;
struct llama_vocab;

namespace ebb::engine {


using Token = int32_t;

struct LoadParams {
  std::string path;
  uint32_t num_ctx = 4096;      // per slot (sequence)
  uint32_t num_parallel = 1;    // slots; context holds num_ctx * num_parallel
  uint32_t num_batch = 512;
  int32_t num_thread = 0;       // 0: hardware threads
  int32_t num_gpu = -1;         // layers to offload; -1: all
  std::string kv_cache_type = "f16";
  bool flash_attn = false;
  bool embeddings = false;
  bool dry_run = false;         // no_alloc: measure footprints only
};

// Bytes per buffer type, as llama.cpp accounts them.
struct MemoryBreakdown {
  uint64_t weights = 0, kv = 0, compute = 0;
  nlohmann::json per_buffer = nlohmann::json::array();  // [{buffer, weights, kv, compute}]
  nlohmann::json to_json() const;
};

void init_backend_once();

class Engine {
 public:
  explicit Engine(const LoadParams& p);  // throws std::runtime_error
  ~Engine();  // defined where ChatTemplate is complete
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Context lifecycle: the warm tier frees the context and keeps the weights.
  void create_context();
  void free_context();
  bool has_context() const { return ctx_ != nullptr; }

  MemoryBreakdown memory() const;
  uint32_t n_ctx_train() const;
  uint32_t n_ctx_per_slot() const { return params_.num_ctx; }
  const LoadParams& params() const { return params_; }

  std::vector<Token> tokenize(const std::string& text, bool add_special) const;
  std::string piece(Token t) const;
  bool is_eog(Token t) const;

  // Renders chat messages with the model's template: Jinja (llama-common), then
  // libllama's built-in matcher, then a plain "role: content" layout.
  std::string apply_chat_template(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;

  llama_model* model() const { return model_; }
  llama_context* ctx() const { return ctx_; }
  const llama_vocab* vocab() const { return vocab_; }

 private:
  LoadParams params_;
  llama_model* model_ = nullptr;
  llama_context* ctx_ = nullptr;
  const llama_vocab* vocab_ = nullptr;
  std::unique_ptr<ChatTemplate> templates_;
};

}  // namespace ebb::engine
