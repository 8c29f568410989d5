#include "engine/engine.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/process_memory.h"
#include "engine/chat_template.h"
#include "engine/mapped_weights.h"
#include "engine/seq_state.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "llama-ext.h"
#include "llama.h"

namespace ebb::engine {

static_assert(kNoToken == LLAMA_TOKEN_NULL);

nlohmann::json MemoryBreakdown::to_json() const {
  nlohmann::json j = {{"weights", weights}, {"kv", kv}, {"compute", compute}, {"buffers", per_buffer}};
  if (heap > 0) j["heap"] = heap;
  return j;
}

static uint64_t growth(uint64_t before, uint64_t after) { return after > before ? after - before : 0; }

void init_backend_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(
        [](ggml_log_level level, const char* text, void*) {
          if (level == GGML_LOG_LEVEL_ERROR) spdlog::error("llama: {}", std::string(text).substr(0, 400));
        },
        nullptr);
    llama_backend_init();
  });
}

static ggml_type kv_type(const std::string& name) {
  if (name == "f16" || name.empty()) return GGML_TYPE_F16;
  if (name == "q8_0") return GGML_TYPE_Q8_0;
  if (name == "q4_0") return GGML_TYPE_Q4_0;
  if (name == "f32") return GGML_TYPE_F32;
  throw std::runtime_error("unsupported kv cache type '" + name + "' (use f16, q8_0 or q4_0)");
}

Engine::Engine(const LoadParams& p) : params_(p) {
  init_backend_once();
  auto mp = llama_model_default_params();
  mp.n_gpu_layers = p.num_gpu < 0 ? 999 : p.num_gpu;
  if (p.dry_run) {
    mp.no_alloc = true;
    mp.load_mode = LLAMA_LOAD_MODE_NONE;
  }
  auto t0 = std::chrono::steady_clock::now();
  if (!p.dry_run) prefetch_ = prefetch_file(p.path);
  // A dry run allocates no buffers, so the growth of its resident private memory over the load and
  // the context is what their host-side structures really occupy (vocabulary, metadata, graph
  // and output buffers; allocated-but-untouched bytes such as the scheduler's hash tables do not count).
  const uint64_t anon0 = p.dry_run ? own_resident_anon() : 0;
  model_ = llama_model_load_from_file(p.path.c_str(), mp);
  if (p.dry_run) heap_model_ = growth(anon0, own_resident_anon());
  if (!model_) throw std::runtime_error("llama.cpp could not load '" + p.path + "'");
  model_load_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  vocab_ = llama_model_get_vocab(model_);
  if (params_.num_ctx == 0) params_.num_ctx = 4096;
  uint32_t train = n_ctx_train();
  if (train > 0 && params_.num_ctx > train) params_.num_ctx = train;
  if (params_.num_parallel == 0) params_.num_parallel = 1;
  if (params_.num_batch == 0) params_.num_batch = 512;
  try {
    if (p.dry_run) predicted_mapped_ = predict_mapped_weights(model_, p.path);
    if (!p.dry_run) templates_ = std::make_unique<ChatTemplate>(model_);
    create_context();
  } catch (...) {
    templates_.reset();
    llama_model_free(model_);
    throw;
  }
}

Engine::~Engine() {
  free_context();
  templates_.reset();
  if (model_) llama_model_free(model_);
}

// The CPU backend's work buffer (activations converted for quantized matrix products, attention
// scratch), which it allocates at the first compute for the largest node of the batch graph: the
// graph a full batch over a full cache builds, planned for the batch threads.
static uint64_t cpu_work_bytes(llama_context* ctx, const llama_context_params& cp) {
  const uint32_t n_tokens = std::min(cp.n_ctx, cp.n_ubatch);
  const uint32_t n_outputs = cp.n_outputs_max > 0 ? std::min(n_tokens, cp.n_outputs_max) : n_tokens;
  ggml_cgraph* gf = llama_graph_reserve(ctx, n_tokens, cp.kv_unified ? 1 : cp.n_seq_max, n_outputs);
  return gf ? ggml_graph_plan(gf, cp.n_threads_batch, nullptr).work_size : 0;
}

void Engine::create_context() {
  if (ctx_) return;
  auto cp = llama_context_default_params();
  cp.n_ctx = params_.num_ctx * params_.num_parallel;
  cp.n_seq_max = params_.num_parallel;
  cp.n_batch = params_.num_batch;
  cp.n_ubatch = params_.num_batch;
  int threads = params_.num_thread > 0 ? params_.num_thread : static_cast<int>(std::thread::hardware_concurrency());
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.type_k = kv_type(params_.kv_cache_type);
  cp.type_v = kv_type(params_.kv_cache_type);
  cp.flash_attn_type = !params_.flash_attn   ? LLAMA_FLASH_ATTN_TYPE_AUTO
                       : *params_.flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                                             : LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.kv_unified = false;
  cp.no_perf = true;
  cp.embeddings = params_.embeddings;
  cp.pooling_type = LLAMA_POOLING_TYPE_NONE;  // per-token embeddings; see Engine::pooling()
  // llama.cpp reserves compute for a batch whose every token is an output: n_vocab logits per
  // token, 62.5 MiB at a 32k vocabulary and 512-token batches (250 MiB at 128k), on the device.
  // A generation step outputs one token per sequence, and causal embed chunks are at most
  // kEmbedTokensPerDecode tokens, so that is all the context reserves. Non-causal models embed a
  // whole input in one batch and keep the full reserve.
  if (causal_attention()) cp.n_outputs_max = std::max(params_.num_parallel, kEmbedTokensPerDecode);
  auto t0 = std::chrono::steady_clock::now();
  const uint64_t anon0 = params_.dry_run ? own_resident_anon() : 0;
  ctx_ = llama_init_from_model(model_, cp);
  if (!ctx_) throw std::runtime_error("llama.cpp could not create a context (n_ctx " + std::to_string(cp.n_ctx) + ")");
  if (params_.dry_run) heap_context_ = growth(anon0, own_resident_anon()) + cpu_work_bytes(ctx_, cp);
  context_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
}

void Engine::set_num_ctx(uint32_t num_ctx) {
  uint32_t train = n_ctx_train();
  params_.num_ctx = train > 0 && num_ctx > train ? train : num_ctx;
}

void Engine::free_context() {
  if (!ctx_) return;
  // What stays after the free: the weights, per buffer.
  MemoryBreakdown full = memory();
  weights_only_ = MemoryBreakdown{};
  weights_only_.weights = full.weights;
  for (const auto& b : full.per_buffer) {
    if (b["weights"].get<uint64_t>() == 0) continue;
    weights_only_.per_buffer.push_back({{"buffer", b["buffer"]}, {"weights", b["weights"]}, {"kv", 0}, {"compute", 0}});
  }
  llama_free(ctx_);
  ctx_ = nullptr;
  malloc_trim(0);  // glibc keeps freed heap pages otherwise; the warm tier promises they are gone
}

size_t Engine::sequence_state_size(int seq) const {
  if (!ctx_ || sequence_length(seq) == 0) return 0;
  return llama_state_seq_get_size(ctx_, seq);
}

size_t Engine::save_sequence_into(int seq, uint8_t* dst, size_t capacity) const {
  if (!ctx_ || capacity == 0 || sequence_length(seq) == 0) return 0;
  return llama_state_seq_get_data(ctx_, dst, capacity, seq);
}

std::string Engine::save_sequence(int seq) const {
  std::string out(sequence_state_size(seq), '\0');
  out.resize(save_sequence_into(seq, reinterpret_cast<uint8_t*>(out.data()), out.size()));
  return out;
}

bool Engine::restore_sequence(int seq, std::string_view state) {
  if (!ctx_) return false;
  llama_memory_seq_rm(llama_get_memory(ctx_), seq, -1, -1);
  std::string restreamed;
  auto streams = seq_state_streams(state);
  if (streams && *streams != params_.num_parallel) {  // one stream per sequence (kv_unified = false)
    auto moved = restream_seq_state(state, params_.num_parallel);
    if (!moved) return false;
    restreamed = std::move(*moved);
    state = restreamed;
  }
  size_t n = llama_state_seq_set_data(ctx_, reinterpret_cast<const uint8_t*>(state.data()), state.size(), seq);
  if (n == 0) llama_memory_seq_rm(llama_get_memory(ctx_), seq, -1, -1);
  return n != 0;
}

size_t Engine::sequence_length(int seq) const {
  if (!ctx_) return 0;
  llama_pos max = llama_memory_seq_pos_max(llama_get_memory(ctx_), seq);
  return max < 0 ? 0 : static_cast<size_t>(max) + 1;
}

void Engine::clear_sequence(int seq) {
  if (ctx_) llama_memory_seq_rm(llama_get_memory(ctx_), seq, -1, -1);
}

void Engine::truncate_sequence(int seq, size_t n) {
  if (ctx_) llama_memory_seq_rm(llama_get_memory(ctx_), seq, static_cast<llama_pos>(n), -1);
}

void Engine::copy_sequence(int src, int dst, size_t n) {
  if (!ctx_) return;
  llama_memory_t mem = llama_get_memory(ctx_);
  llama_memory_seq_rm(mem, dst, -1, -1);
  llama_memory_seq_cp(mem, src, dst, -1, -1);
  llama_memory_seq_rm(mem, dst, static_cast<llama_pos>(n), -1);
}

MemoryBreakdown Engine::memory() const {
  if (!ctx_) return weights_only_;
  MemoryBreakdown out;
  std::map<std::string, nlohmann::json> buffers;  // by name, so dry and real runs list alike
  auto add = [&](const std::string& name, uint64_t weights, uint64_t kv, uint64_t compute) {
    auto& b = buffers[name];
    if (b.is_null()) b = {{"buffer", name}, {"weights", 0}, {"kv", 0}, {"compute", 0}};
    b["weights"] = b["weights"].get<uint64_t>() + weights;
    b["kv"] = b["kv"].get<uint64_t>() + kv;
    b["compute"] = b["compute"].get<uint64_t>() + compute;
  };
  for (const auto& [buft, mb] : llama_get_memory_breakdown(ctx_)) {
    out.weights += mb.model;
    out.kv += mb.context;
    out.compute += mb.compute;
    std::string name = buft ? ggml_backend_buft_name(buft) : "?";
    auto mapped = predicted_mapped_.find(name);
    if (mb.model > 0 && mapped != predicted_mapped_.end()) {  // dry run: report what mmap will
      out.weights += mapped->second - mb.model;
      add(name + "_Mapped", mapped->second, 0, 0);
      add(name, 0, mb.context, mb.compute);
    } else {
      add(name, mb.model, mb.context, mb.compute);
    }
  }
  for (auto& [name, b] : buffers) out.per_buffer.push_back(std::move(b));
  // Only a dry run's heap is buffer-free: a real load's includes the buffers it mallocs.
  if (params_.dry_run) out.heap = heap_model_ + heap_context_;
  return out;
}

uint32_t Engine::n_ctx_train() const { return static_cast<uint32_t>(std::max(0, llama_model_n_ctx_train(model_))); }

std::vector<Token> Engine::tokenize(const std::string& text, bool add_special) const {
  int n = -llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), nullptr, 0, add_special, true);
  std::vector<Token> out(std::max(n, 0));
  if (n > 0) llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), out.data(), n, add_special, true);
  return out;
}

std::string Engine::piece(Token t) const {
  char buf[256];
  int n = llama_token_to_piece(vocab_, t, buf, sizeof buf, 0, false);
  if (n < 0) {
    std::string big(static_cast<size_t>(-n), '\0');
    n = llama_token_to_piece(vocab_, t, big.data(), static_cast<int32_t>(big.size()), 0, false);
    return big.substr(0, std::max(n, 0));
  }
  return std::string(buf, n);
}

bool Engine::is_eog(Token t) const { return llama_vocab_is_eog(vocab_, t); }

Token Engine::bos() const { return llama_vocab_bos(vocab_); }

Engine::FimTokens Engine::fim_tokens() const {
  return {llama_vocab_fim_pre(vocab_), llama_vocab_fim_suf(vocab_), llama_vocab_fim_mid(vocab_)};
}

int32_t Engine::n_vocab() const { return llama_vocab_n_tokens(vocab_); }

SamplerPtr Engine::make_sampler(const SamplingOptions& o, const ChatPrompt* chat) const {
  return engine::make_sampler(o, vocab_, chat);
}

std::string Engine::apply_chat_template(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const {
  return templates_->apply(msgs, add_generation_prompt);
}

std::string Engine::metadata(const std::string& key) const {
  char buf[256];
  int n = llama_model_meta_val_str(model_, key.c_str(), buf, sizeof buf);
  if (n < 0) return "";
  if (n < static_cast<int>(sizeof buf)) return std::string(buf, n);
  std::string big(static_cast<size_t>(n) + 1, '\0');
  llama_model_meta_val_str(model_, key.c_str(), big.data(), big.size());
  big.resize(n);
  return big;
}

Pooling Engine::pooling() const {
  std::string v = metadata(metadata("general.architecture") + ".pooling_type");
  if (v == "1") return Pooling::Mean;
  if (v == "2") return Pooling::Cls;
  if (v == "3") return Pooling::Last;
  if (v == "4") return Pooling::Rank;
  return Pooling::None;
}

bool Engine::causal_attention() const {
  return metadata(metadata("general.architecture") + ".attention.causal") != "false";
}

int32_t Engine::n_embd_out() const { return llama_model_n_embd_out(model_); }

}  // namespace ebb::engine
