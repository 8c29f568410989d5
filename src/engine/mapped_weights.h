#pragma once
// What a real (mmap) load reports for file-backed weights, predicted from a no_alloc dry run.
//
// With mmap, llama.cpp wraps the file span holding a buffer type's tensors (first tensor start to
// last tensor end) as one "<buft>_Mapped" buffer and reports that span as weights. The span can be
// larger than the tensors themselves: with CPU repacking (q4_0), the repacked tensors sit between
// the mapped ones in the file. A dry run maps nothing, so this recomputes the span from the GGUF's
// tensor offsets for each buffer type a real load would map.
#include <cstdint>
#include <map>
#include <string>

struct llama_model;

namespace ebb::engine {

// Buffer type name → mapped span in bytes, for a model loaded with no_alloc from `path`.
// Empty when nothing would be mapped or the file cannot be read (a split GGUF, for example).
std::map<std::string, uint64_t> predict_mapped_weights(const llama_model* model, const std::string& path);

}  // namespace ebb::engine
