#pragma once
// Hostile GGUF files made from a valid one: each breaks one rule of ebb's validator
// (common/gguf_reader.h). The reader's unit tests and the server's integration tests share them.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ebb::test {

// Where the fields of a valid GGUF header (v2/v3, little endian) sit in its bytes.
struct GgufLayout {
  struct Tensor {
    size_t n_dims_at = 0;  // its u32 n_dims; the i64 dims follow
    uint32_t n_dims = 0;
    size_t type_at = 0;    // its u32 ggml type
    size_t offset_at = 0;  // its u64 data offset
  };
  std::vector<Tensor> tensors;
};

namespace bad_gguf_detail {

inline uint64_t read_le(const std::string& b, size_t at, int bytes) {
  if (at + bytes > b.size()) throw std::runtime_error("gguf_layout: not a valid GGUF file");
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}

// The bytes of one metadata value of GGUF type `type` at `at` (arrays whole).
inline size_t value_size(const std::string& b, size_t at, uint32_t type) {
  switch (type) {
    case 0:
    case 1:
    case 7: return 1;  // u8, i8, bool
    case 2:
    case 3: return 2;  // u16, i16
    case 4:
    case 5:
    case 6: return 4;  // u32, i32, f32
    case 10:
    case 11:
    case 12: return 8;                     // u64, i64, f64
    case 8: return 8 + read_le(b, at, 8);  // string
    case 9: {                              // array: element type, count, elements
      const auto elem = static_cast<uint32_t>(read_le(b, at, 4));
      const uint64_t n = read_le(b, at + 4, 8);
      size_t size = 12;
      for (uint64_t i = 0; i < n; ++i) size += value_size(b, at + size, elem);
      return size;
    }
    default: throw std::runtime_error("gguf_layout: unknown value type");
  }
}

}  // namespace bad_gguf_detail

inline GgufLayout gguf_layout(const std::string& b) {
  using bad_gguf_detail::read_le;
  GgufLayout layout;
  const uint64_t n_tensors = read_le(b, 8, 8), n_kv = read_le(b, 16, 8);
  size_t at = 24;
  for (uint64_t i = 0; i < n_kv; ++i) {
    at += 8 + read_le(b, at, 8);  // the key
    const auto type = static_cast<uint32_t>(read_le(b, at, 4));
    at += 4 + bad_gguf_detail::value_size(b, at + 4, type);
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufLayout::Tensor t;
    at += 8 + read_le(b, at, 8);  // the name
    t.n_dims_at = at;
    t.n_dims = static_cast<uint32_t>(read_le(b, at, 4));
    t.type_at = at + 4 + 8 * t.n_dims;
    t.offset_at = t.type_at + 4;
    at = t.offset_at + 8;
    layout.tensors.push_back(t);
  }
  return layout;
}

inline std::string with_le(std::string b, size_t at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) b[at + i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return b;
}

struct BadGguf {
  std::string name;    // a file name stem: "zero_dim"
  std::string bytes;   // the file
  std::string reason;  // a part of the validator's reason
};

// One broken copy of `good` per rule: truncated header, huge metadata count, a string length
// past the end of the file, a tensor offset past it, an unknown type id, a zero dimension, five
// dimensions, dimensions whose product overflows. `good` needs a tensor of 2 or more dimensions.
inline std::vector<BadGguf> bad_gguf_corpus(const std::string& good) {
  const GgufLayout layout = gguf_layout(good);
  if (layout.tensors.empty()) throw std::runtime_error("bad_gguf_corpus: the file has no tensors");
  const GgufLayout::Tensor& first = layout.tensors.front();
  const GgufLayout::Tensor* matrix = nullptr;
  for (const auto& t : layout.tensors)
    if (!matrix && t.n_dims >= 2) matrix = &t;
  if (!matrix) throw std::runtime_error("bad_gguf_corpus: the file has no tensor of 2 or more dimensions");
  const uint64_t past_end = (good.size() / 4096 + 2) * 4096;  // aligned to any alignment up to 4096, past the end
  return {
      {"truncated_header", good.substr(0, 20), "truncated: metadata count"},
      {"huge_metadata_count", with_le(good, 16, 1ULL << 62, 8), "metadata count 4611686018427387904 does not fit"},
      {"string_past_eof", with_le(good, 24, good.size(), 8), "of metadata key #0 (at byte 24) exceeds the file"},
      {"offset_past_eof", with_le(good, layout.tensors.back().offset_at, past_end, 8),
       "data offset is " + std::to_string(past_end)},
      {"bad_type_id", with_le(good, first.type_at, 99, 4), "has unknown ggml type id 99"},
      {"zero_dim", with_le(good, matrix->n_dims_at + 4, 0, 8), "dimension 0 is 0"},
      {"five_dims", with_le(good, first.n_dims_at, 5, 4), "has 5 dimensions; at most 4"},
      {"overflowing_dims",
       with_le(with_le(good, matrix->n_dims_at + 4, 1ULL << 40, 8), matrix->n_dims_at + 12, 1ULL << 40, 8),
       "has too many elements"},
  };
}

}  // namespace ebb::test
