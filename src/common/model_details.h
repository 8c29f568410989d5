#pragma once
// What /api/tags, /api/show and /api/ps say of a model file, the same in all three: Ollama's
// "details" object and the model's digest.
#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/gguf_reader.h"

namespace ebb {

// {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
//  "parameter_size": "494.03M", "quantization_level": "Q8_0"}: family from general.architecture,
// parameter_size from the tensors' element count (human_number), quantization from
// general.file_type or the tensors (GgufInfo::quantization_level).
nlohmann::json model_details(const GgufInfo& info);

// 64 hex digits naming this version of the file: SHA-256 of its path, size and modification time.
// Not of its content, which would mean reading gigabytes per listing; a changed file gets a new
// digest, two names for the same file share one.
std::string model_digest(const std::string& path, uint64_t size, int64_t mtime_ns);

// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(const std::string& data);

}  // namespace ebb
