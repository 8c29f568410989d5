#include "engine/quantize.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/gguf_reader.h"
#include "engine/engine.h"
#include "engine/synth.h"
#include "llama.h"

namespace ebb::engine {
namespace {

namespace fs = std::filesystem;

struct TypeEntry {
  const char* name;
  llama_ftype ftype;
};

constexpr TypeEntry kTypes[] = {
    {"f16", LLAMA_FTYPE_MOSTLY_F16},       {"bf16", LLAMA_FTYPE_MOSTLY_BF16},     {"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},
    {"q6_K", LLAMA_FTYPE_MOSTLY_Q6_K},     {"q5_K_M", LLAMA_FTYPE_MOSTLY_Q5_K_M}, {"q5_K_S", LLAMA_FTYPE_MOSTLY_Q5_K_S},
    {"q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},     {"q5_1", LLAMA_FTYPE_MOSTLY_Q5_1},     {"q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M},
    {"q4_K_S", LLAMA_FTYPE_MOSTLY_Q4_K_S}, {"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},     {"q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},
    {"q3_K_M", LLAMA_FTYPE_MOSTLY_Q3_K_M}, {"q2_K", LLAMA_FTYPE_MOSTLY_Q2_K},
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// ggml_type ids of unquantized tensors: F32, F16, BF16.
bool is_float_type(uint32_t ggml_type) { return ggml_type == 0 || ggml_type == 1 || ggml_type == 30; }

GgufInfo read_header(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw QuantizeError(path + ": no such file");
  if (!fs::is_regular_file(path, ec)) throw QuantizeError(path + ": not a regular file");
  try {
    return read_gguf_header(path);
  } catch (const GgufError& e) {
    throw QuantizeError(path + ": not a usable GGUF file (" + e.reason() + ")");
  }
}

// Collects llama.cpp's log lines during a quantization: tensor progress, errors, fallbacks.
struct QuantizeLog {
  const std::function<void(int, int)>* on_tensor = nullptr;
  ggml_log_level last_level = GGML_LOG_LEVEL_INFO;
  std::string errors, warnings;

  static void callback(ggml_log_level level, const char* text, void* self_ptr) {
    auto* self = static_cast<QuantizeLog*>(self_ptr);
    if (level == GGML_LOG_LEVEL_CONT) level = self->last_level;
    self->last_level = level;
    if (level == GGML_LOG_LEVEL_ERROR) self->errors += text;
    if (level == GGML_LOG_LEVEL_WARN) self->warnings += text;
    int done = 0, total = 0;
    // Each tensor starts with "[  12/ 291] name - [shape], type = f16, ".
    if (level == GGML_LOG_LEVEL_INFO && text[0] == '[' && std::sscanf(text, "[%d/%d]", &done, &total) == 2 &&
        *self->on_tensor)
      (*self->on_tensor)(done, total);
  }
};

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \n\t="), e = s.find_last_not_of(" \n\t=");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// llama.cpp's reason, without its function-name prefix and banner lines.
std::string failure_reason(const std::string& errors) {
  std::string reason;
  size_t start = 0;
  while (start < errors.size()) {
    size_t end = errors.find('\n', start);
    std::string line = trim(errors.substr(start, end == std::string::npos ? std::string::npos : end - start));
    start = end == std::string::npos ? errors.size() : end + 1;
    if (auto p = line.find("failed to quantize: "); p != std::string::npos) line = line.substr(p + 20);
    if (!line.empty()) reason += (reason.empty() ? "" : "; ") + line;
  }
  return reason.empty() ? "llama.cpp could not quantize the file" : reason;
}

std::vector<std::string> fallback_warnings(const std::string& warnings) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < warnings.size()) {
    size_t end = warnings.find('\n', start);
    std::string line = trim(warnings.substr(start, end == std::string::npos ? std::string::npos : end - start));
    start = end == std::string::npos ? warnings.size() : end + 1;
    if (line.find("required fallback") != std::string::npos) {
      if (auto p = line.find("WARNING: "); p != std::string::npos) line = line.substr(p + 9);
      out.push_back(line);
    }
  }
  return out;
}

}  // namespace

const std::vector<std::string>& quantize_type_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& t : kTypes) v.push_back(t.name);
    return v;
  }();
  return names;
}

uint32_t quantize_ftype(const std::string& name) {
  for (const auto& t : kTypes) {
    if (lower(name) == lower(t.name)) return t.ftype;
  }
  std::string known;
  for (const auto& n : quantize_type_names()) known += (known.empty() ? "" : ", ") + n;
  throw QuantizeError("unknown quantization type '" + name + "' (supported: " + known + ")");
}

ModelFacts inspect_model(const std::string& path, uint32_t num_ctx) {
  GgufInfo info = read_header(path);
  ModelFacts f;
  f.path = path;
  f.file_bytes = info.file_size;
  f.params = info.parameter_count();
  f.size_label = info.get_string("general.size_label").value_or(format_param_count(f.params));
  f.quantization = info.quantization_level();
  LoadParams p;
  p.path = path;
  p.num_ctx = num_ctx;
  p.dry_run = true;
  try {
    Engine dry(p);
    MemoryBreakdown m = dry.memory();
    f.device = {m.weights, m.kv, m.compute};
    f.num_ctx = dry.n_ctx_per_slot();
  } catch (const std::exception& e) {
    throw QuantizeError(path + ": " + e.what());
  }
  return f;
}

void check_quantize_spec(const QuantizeSpec& spec) {
  quantize_ftype(spec.type);
  GgufInfo info = read_header(spec.input);
  for (const auto& t : info.tensors) {
    if (t.n_dims >= 2 && !is_float_type(t.type))
      throw QuantizeError(spec.input + " is already quantized (" + info.quantization_level() +
                          "); quantize from an F32, F16 or BF16 GGUF");
  }
  std::error_code ec;
  if (fs::exists(spec.output, ec) && fs::equivalent(spec.input, spec.output, ec))
    throw QuantizeError("the output must be a different file than the input");
  fs::path parent = fs::path(spec.output).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) throw QuantizeError(parent.string() + ": no such directory");
}

std::vector<std::string> quantize_file(const QuantizeSpec& spec) {
  check_quantize_spec(spec);
  const auto ftype = static_cast<llama_ftype>(quantize_ftype(spec.type));
  std::error_code ec;
  init_backend_once();
  auto params = llama_model_quantize_default_params();
  params.ftype = ftype;
  params.nthread = spec.threads > 0 ? spec.threads : static_cast<int32_t>(std::thread::hardware_concurrency());

  const std::string partial = spec.output + ".partial";
  QuantizeLog log;
  log.on_tensor = &spec.on_tensor;
  ggml_log_callback saved_cb = nullptr;
  void* saved_data = nullptr;
  llama_log_get(&saved_cb, &saved_data);
  llama_log_set(QuantizeLog::callback, &log);
  uint32_t rc = llama_model_quantize(spec.input.c_str(), partial.c_str(), &params);
  llama_log_set(saved_cb, saved_data);
  if (rc != 0) {
    fs::remove(partial, ec);
    throw QuantizeError(spec.input + ": " + failure_reason(log.errors));
  }
  fs::rename(partial, spec.output, ec);
  if (ec) {
    std::string why = ec.message();
    fs::remove(partial, ec);
    throw QuantizeError(spec.output + ": cannot write (" + why + ")");
  }
  return fallback_warnings(log.warnings);
}

}  // namespace ebb::engine
