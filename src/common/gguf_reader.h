#pragma once
// A bounds-checked reader for GGUF headers (v2 and v3, little endian), for the supervisor, which
// must never hand a malformed file to llama.cpp: ebb's one GGUF validator. Every model file passes
// it before a runner sees it. It reads the metadata and tensor table with buffered pread() calls
// and refuses, with a reason:
// - a bad magic or version, a header cut short;
// - metadata and tensor counts, string and array lengths that the rest of the file cannot hold
//   (and llama.cpp's own limits), unknown value types, nested arrays, duplicate keys, a
//   general.alignment that is not a u32 power of 2;
// - tensors with more than 4 dimensions, a dimension below 1, an element count that overflows
//   int64, an unknown or removed ggml type, rows that are not a whole number of the type's
//   blocks, a byte size that overflows, a duplicate or over-long name;
// - tensor data that is not aligned, not packed in header order (so no two overlap) or not
//   inside the file.
// Tensor data itself is never read.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ebb {

class GgufError : public std::runtime_error {
 public:
  GgufError(const std::string& path, const std::string& reason)
      : std::runtime_error(path + ": " + reason), path_(path), reason_(reason) {}
  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }  // the message without the path

 private:
  std::string path_;
  std::string reason_;
};

// GGUF metadata value types, with the file format's ids.
enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
const char* gguf_type_name(GgufType type);

// One value, widened: unsigned ints → uint64_t, signed → int64_t, floats → double.
using GgufScalar = std::variant<uint64_t, int64_t, double, bool, std::string>;

struct GgufValue {
  GgufType type = GgufType::U8;
  GgufScalar scalar;  // when type != Array

  // Arrays: element type and length always; the elements only when the array is small
  // (kMaxKeptNumbers / kMaxKeptStrings), so a 150k-token vocabulary is not held in memory
  // (unless GgufReadOptions::keep_arrays asks for it).
  GgufType array_type = GgufType::U8;
  uint64_t array_length = 0;
  bool array_kept = false;
  std::vector<GgufScalar> array;

  static constexpr uint64_t kMaxKeptNumbers = 4096;
  static constexpr uint64_t kMaxKeptStrings = 64;

  bool is_array() const { return type == GgufType::Array; }
  // Scalars converted where lossless (an integer type for as_uint/as_int, any number for as_double).
  std::optional<uint64_t> as_uint() const;
  std::optional<int64_t> as_int() const;
  std::optional<double> as_double() const;
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  // A kept array of non-negative integers (e.g. per-layer head counts), else nullopt.
  std::optional<std::vector<uint64_t>> as_uint_array() const;
  // Scalars as JSON values; kept arrays as JSON arrays; arrays not kept as null (as Ollama's
  // /api/show model_info does without verbose).
  nlohmann::json to_json() const;
};

struct GgufTensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  std::array<int64_t, 4> ne{1, 1, 1, 1};  // elements per dimension; unused dims are 1
  uint32_t type = 0;                      // ggml_type id
  uint64_t offset = 0;                    // relative to GgufInfo::data_offset
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
};

struct GgufInfo {
  std::string path;
  uint64_t file_size = 0;
  uint32_t version = 0;
  uint32_t alignment = 32;   // general.alignment
  uint64_t data_offset = 0;  // absolute file offset where tensor data starts
  std::map<std::string, GgufValue, std::less<>> metadata;
  std::vector<GgufTensorInfo> tensors;

  const GgufValue* find(std::string_view key) const;
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  // "<architecture>.<suffix>", e.g. arch_uint("context_length"). Per-layer arrays give their max.
  std::optional<uint64_t> arch_uint(std::string_view suffix) const;

  std::string architecture() const;  // general.architecture, "" when absent
  std::string name() const;          // general.name, "" when absent
  std::optional<uint64_t> context_length() const;
  std::optional<uint64_t> embedding_length() const;
  std::optional<uint64_t> block_count() const;
  std::optional<uint64_t> head_count() const;
  std::optional<uint64_t> head_count_kv() const;  // falls back to head_count, as llama.cpp does
  std::optional<uint32_t> file_type() const;      // general.file_type (llama_ftype)
  std::optional<uint32_t> pooling_type() const;   // <arch>.pooling_type (0 none, 1 mean, ...)
  uint64_t vocab_size() const;                    // length of tokenizer.ggml.tokens, 0 if absent
  bool has_chat_template() const;                 // tokenizer.chat_template is a non-empty string
  bool is_embedding_model() const;                // pooling set, or an encoder-only architecture
  uint64_t parameter_count() const;               // sum of tensor elements
  uint64_t tensor_bytes() const;                  // sum of tensor data sizes
  // Ollama's quantization_level: "Q4_K_M", "Q8_0", "F16"... from general.file_type, else the
  // type holding most elements among tensors with 2+ dims; "unknown" if neither says.
  std::string quantization_level() const;
};

struct GgufReadOptions {
  // Keep every array's elements, however long (a whole vocabulary: /api/show with verbose).
  bool keep_arrays = false;
};

// Reads and validates the header of a GGUF file. Throws GgufError with a readable reason.
GgufInfo read_gguf_header(const std::string& path, const GgufReadOptions& options = {});

// The ggml tensor type table: block size (elements) and bytes per block. nullptr when unknown.
struct GgmlTypeTraits {
  const char* name;
  uint32_t block_size;
  uint32_t type_size;
};
const GgmlTypeTraits* ggml_type_traits(uint32_t type_id);
// llama_ftype names as Ollama prints them ("Q4_K_M"); nullptr when unknown.
const char* llama_file_type_name(uint32_t file_type);

}  // namespace ebb
