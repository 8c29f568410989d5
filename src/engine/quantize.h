#pragma once
// `ebb quantize`: rewrites an F32/F16/BF16 GGUF at a lower precision with llama_model_quantize,
// and measures what each file costs on the device through the same no_alloc dry run the
// supervisor uses for its footprints.
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ebb::engine {

class QuantizeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Target types by their Ollama names ("q4_K_M"); matching ignores case.
const std::vector<std::string>& quantize_type_names();
// The llama_ftype for a name. Throws QuantizeError listing the known names.
uint32_t quantize_ftype(const std::string& name);

// Device bytes of one model at a context size: weights + KV + compute, every buffer type.
struct DeviceBytes {
  uint64_t weights = 0, kv = 0, compute = 0;
  uint64_t total() const { return weights + kv + compute; }
};

// What one GGUF file is and costs.
struct ModelFacts {
  std::string path;
  uint64_t file_bytes = 0;
  uint64_t params = 0;
  std::string size_label;    // general.size_label ("7B"), else the parameter count ("6.74B")
  std::string quantization;  // "F16", "Q4_0"...
  uint32_t num_ctx = 0;      // the context the device bytes were measured at (capped at training)
  DeviceBytes device;
};

// Validates the header with ebb's own GGUF reader (a malformed file never reaches llama.cpp),
// then dry-runs a load at num_ctx. Throws QuantizeError.
ModelFacts inspect_model(const std::string& path, uint32_t num_ctx);

struct QuantizeSpec {
  std::string input, output, type;
  int32_t threads = 0;  // 0: all cores
  // Progress, once per tensor, on the calling thread.
  std::function<void(int done, int total)> on_tensor;
};

// Checks a spec without writing anything: a known type, an input GGUF whose header reads and
// whose weights are F32/F16/BF16, an output that is another file in an existing directory.
// Throws QuantizeError.
void check_quantize_spec(const QuantizeSpec& spec);

// Writes spec.output (through "<output>.partial", renamed when complete). The input must be an
// F32, F16 or BF16 GGUF (see check_quantize_spec). Throws QuantizeError with llama.cpp's reason.
// Returns llama.cpp's warnings (tensors that fell back to another type), if any.
std::vector<std::string> quantize_file(const QuantizeSpec& spec);

}  // namespace ebb::engine
