#include "engine/mapped_weights.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "ggml-backend.h"
#include "gguf.h"
#include "llama-ext.h"

// Exported by libllama (declared in its internal llama-model.h): every weight tensor by name.
const std::vector<std::pair<std::string, ggml_tensor*>>& llama_internal_get_tensor_map(const llama_model* model);

namespace ebb::engine {
namespace {

// Mirrors llama_model_base::load_tensors: mmap stays on (load_mode AUTO) unless a model device
// cannot mmap, and a buffer type is mapped when it is its device's default and the device can
// wrap host memory.
bool would_be_mapped(const llama_model* model, ggml_backend_buffer_type_t buft) {
  for (int i = 0; i < llama_model_n_devices(model); ++i) {
    ggml_backend_dev_props props{};
    ggml_backend_dev_get_props(llama_model_get_device(model, i), &props);
    if (!props.caps.mmap_support) return false;
  }
  ggml_backend_dev_t dev = ggml_backend_buft_get_device(buft);
  if (!dev && buft == ggml_backend_cpu_buffer_type()) dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
  if (!dev || ggml_backend_dev_buffer_type(dev) != buft) return false;
  ggml_backend_dev_props props{};
  ggml_backend_dev_get_props(dev, &props);
  return props.caps.buffer_from_host_ptr;
}

struct GgufFree {
  void operator()(gguf_context* g) const { gguf_free(g); }
};

}  // namespace

std::map<std::string, uint64_t> predict_mapped_weights(const llama_model* model, const std::string& path) {
  std::map<std::string, uint64_t> out;
  std::unique_ptr<gguf_context, GgufFree> gguf(gguf_init_from_file(path.c_str(), {/*no_alloc=*/true, /*ctx=*/nullptr}));
  if (!gguf || gguf_find_key(gguf.get(), "split.count") >= 0) return out;
  std::map<ggml_backend_buffer_type_t, std::pair<uint64_t, uint64_t>> spans;  // first, last
  for (const auto& [name, t] : llama_internal_get_tensor_map(model)) {
    if (!t || !t->buffer) continue;
    ggml_backend_buffer_type_t buft = ggml_backend_buffer_get_type(t->buffer);
    int64_t id = gguf_find_tensor(gguf.get(), name.c_str());
    if (id < 0) continue;
    const uint64_t first = gguf_get_tensor_offset(gguf.get(), id);
    const uint64_t last = first + ggml_nbytes(t);
    auto [it, fresh] = spans.try_emplace(buft, first, last);
    if (!fresh) it->second = {std::min(it->second.first, first), std::max(it->second.second, last)};
  }
  for (const auto& [buft, span] : spans)
    if (would_be_mapped(model, buft)) out[ggml_backend_buft_name(buft)] = span.second - span.first;
  return out;
}

}  // namespace ebb::engine
