#include "common/gguf_reader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../common/bad_gguf.h"

namespace fs = std::filesystem;

namespace {

// Builds GGUF files byte by byte, so tests can write valid files and then break them.
class GgufWriter {
 public:
  struct Tensor {
    std::string name;
    std::vector<int64_t> ne;
    uint32_t type;
    uint64_t n_bytes;
  };

  uint32_t version = 3;
  uint32_t alignment = 32;

  GgufWriter& kv_u32(const std::string& key, uint32_t v) {
    return kv(key, 4, [&] { u32(v); });
  }
  GgufWriter& kv_i32(const std::string& key, int32_t v) {
    return kv(key, 5, [&] { u32(uint32_t(v)); });
  }
  GgufWriter& kv_u64(const std::string& key, uint64_t v) {
    return kv(key, 10, [&] { u64(v); });
  }
  GgufWriter& kv_f32(const std::string& key, float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    return kv(key, 6, [&] { u32(bits); });
  }
  GgufWriter& kv_bool(const std::string& key, bool v) {
    return kv(key, 7, [&] { meta_.push_back(v ? 1 : 0); });
  }
  GgufWriter& kv_str(const std::string& key, const std::string& v) {
    return kv(key, 8, [&] { str(v); });
  }
  GgufWriter& kv_str_array(const std::string& key, const std::vector<std::string>& items) {
    return kv(key, 9, [&] {
      u32(8);
      u64(items.size());
      for (const auto& s : items) str(s);
    });
  }
  GgufWriter& kv_u32_array(const std::string& key, const std::vector<uint32_t>& items) {
    return kv(key, 9, [&] {
      u32(4);
      u64(items.size());
      for (uint32_t v : items) u32(v);
    });
  }
  GgufWriter& tensor(const std::string& name, std::vector<int64_t> ne, uint32_t type, uint64_t n_bytes) {
    tensors_.push_back({name, std::move(ne), type, n_bytes});
    return *this;
  }

  // The whole file; `data_bytes` of tensor data follow the header, by default all of them.
  std::string build() const {
    std::string out;
    const auto put = [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
    put("GGUF", 4);
    put_le(out, version, 4);
    put_le(out, tensors_.size(), 8);
    put_le(out, n_kv_, 8);
    out += meta_;
    uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
      put_le(out, t.name.size(), 8);
      out += t.name;
      put_le(out, t.ne.size(), 4);
      for (int64_t ne : t.ne) put_le(out, uint64_t(ne), 8);
      put_le(out, t.type, 4);
      put_le(out, offset, 8);
      offset += (t.n_bytes + alignment - 1) / alignment * alignment;
    }
    if (!tensors_.empty()) out.resize((out.size() + alignment - 1) / alignment * alignment, '\0');
    for (size_t i = 0; i < tensors_.size(); ++i) {
      std::string data(tensors_[i].n_bytes, char(0x11 * (i + 1)));
      if (i + 1 < tensors_.size()) data.resize((data.size() + alignment - 1) / alignment * alignment, '\0');
      out += data;
    }
    return out;
  }

  static void put_le(std::string& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
  }

 private:
  template <typename Fn>
  GgufWriter& kv(const std::string& key, uint32_t type, Fn&& value) {
    str(key);
    u32(type);
    value();
    ++n_kv_;
    return *this;
  }
  void u32(uint32_t v) { put_le(meta_, v, 4); }
  void u64(uint64_t v) { put_le(meta_, v, 8); }
  void str(const std::string& s) {
    u64(s.size());
    meta_ += s;
  }

  std::string meta_;
  uint64_t n_kv_ = 0;
  std::vector<Tensor> tensors_;
};

// A small llama-like model: F32 norm + Q8_0 and Q4_0 matrices.
GgufWriter tiny_model() {
  GgufWriter w;
  w.kv_str("general.architecture", "llama")
      .kv_str("general.name", "tiny")
      .kv_u32("general.file_type", 7)  // MOSTLY_Q8_0
      .kv_u32("llama.context_length", 2048)
      .kv_u32("llama.embedding_length", 64)
      .kv_u32("llama.block_count", 1)
      .kv_u32("llama.attention.head_count", 4)
      .kv_u32("llama.attention.head_count_kv", 2)
      .kv_f32("llama.rope.freq_base", 10000.0f)
      .kv_bool("tokenizer.ggml.add_bos_token", true)
      .kv_str_array("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b"})
      .kv_str("tokenizer.chat_template", "{{ messages }}")
      .tensor("token_embd.weight", {64, 4}, 8, 4 * 2 * 34)       // Q8_0: 2 blocks per row
      .tensor("blk.0.attn_norm.weight", {64}, 0, 64 * 4)         // F32
      .tensor("blk.0.attn_q.weight", {64, 64}, 2, 64 * 2 * 18);  // Q4_0
  return w;
}

class GgufReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ebb_gguf_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& bytes, const std::string& name = "model.gguf") {
    const std::string path = (dir_ / name).string();
    // Overwrite, then cut to size: truncating to 0 first makes ext4 flush on close (slow in loops).
    if (!fs::exists(path)) std::ofstream(path, std::ios::binary);
    std::fstream(path, std::ios::binary | std::ios::in | std::ios::out)
        .write(bytes.data(), std::streamsize(bytes.size()));
    fs::resize_file(path, bytes.size());
    return path;
  }

  // The GgufError message for reading `bytes`; fails the test if reading succeeds.
  std::string error_for(const std::string& bytes) {
    try {
      ebb::read_gguf_header(write(bytes));
    } catch (const ebb::GgufError& e) {
      return e.reason();
    }
    ADD_FAILURE() << "expected a GgufError";
    return "";
  }

  fs::path dir_;
};

std::string with_u64_at(std::string bytes, size_t offset, uint64_t value) {
  std::string le;
  GgufWriter::put_le(le, value, 8);
  bytes.replace(offset, 8, le);
  return bytes;
}

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

TEST_F(GgufReaderTest, ReadsAValidFile) {
  const std::string bytes = tiny_model().build();
  const ebb::GgufInfo info = ebb::read_gguf_header(write(bytes));
  EXPECT_EQ(info.version, 3u);
  EXPECT_EQ(info.file_size, bytes.size());
  EXPECT_EQ(info.alignment, 32u);
  EXPECT_EQ(info.data_offset % 32, 0u);
  EXPECT_EQ(info.metadata.size(), 12u);
  EXPECT_EQ(info.architecture(), "llama");
  EXPECT_EQ(info.name(), "tiny");
  EXPECT_EQ(info.context_length(), 2048u);
  EXPECT_EQ(info.embedding_length(), 64u);
  EXPECT_EQ(info.block_count(), 1u);
  EXPECT_EQ(info.head_count(), 4u);
  EXPECT_EQ(info.head_count_kv(), 2u);
  EXPECT_EQ(info.file_type(), 7u);
  EXPECT_EQ(info.quantization_level(), "Q8_0");
  EXPECT_EQ(info.vocab_size(), 4u);
  EXPECT_TRUE(info.has_chat_template());
  EXPECT_FALSE(info.is_embedding_model());
  EXPECT_EQ(info.parameter_count(), 64u * 4 + 64 + 64 * 64);
  EXPECT_EQ(info.tensor_bytes(), 4u * 2 * 34 + 64 * 4 + 64 * 2 * 18);

  ASSERT_EQ(info.tensors.size(), 3u);
  const auto& q = info.tensors[2];
  EXPECT_EQ(q.name, "blk.0.attn_q.weight");
  EXPECT_EQ(q.n_dims, 2u);
  EXPECT_EQ(q.ne[0], 64);
  EXPECT_EQ(q.ne[1], 64);
  EXPECT_EQ(q.ne[2], 1);
  EXPECT_EQ(q.type, 2u);
  EXPECT_EQ(q.n_bytes, 64u * 2 * 18);
  EXPECT_EQ(info.data_offset + q.offset + q.n_bytes, bytes.size());

  const auto* theta = info.find("llama.rope.freq_base");
  ASSERT_NE(theta, nullptr);
  EXPECT_EQ(theta->type, ebb::GgufType::F32);
  EXPECT_DOUBLE_EQ(*theta->as_double(), 10000.0);
  EXPECT_EQ(info.find("tokenizer.ggml.add_bos_token")->as_bool(), true);
  EXPECT_EQ(info.find("tokenizer.ggml.tokens")->to_json(), nlohmann::json({"<s>", "</s>", "a", "b"}));
  EXPECT_EQ(info.find("llama.block_count")->to_json(), 1);
  EXPECT_EQ(info.find("missing"), nullptr);
}

TEST_F(GgufReaderTest, ReadsVersion2) {
  GgufWriter w = tiny_model();
  w.version = 2;
  EXPECT_EQ(ebb::read_gguf_header(write(w.build())).version, 2u);
}

TEST_F(GgufReaderTest, FileWithoutTensors) {
  GgufWriter w;
  w.kv_str("general.architecture", "llama");
  const auto info = ebb::read_gguf_header(write(w.build()));
  EXPECT_TRUE(info.tensors.empty());
  EXPECT_EQ(info.data_offset, info.file_size);
  EXPECT_EQ(info.quantization_level(), "unknown");
  EXPECT_FALSE(info.context_length().has_value());
  EXPECT_FALSE(info.has_chat_template());
}

TEST_F(GgufReaderTest, LargeVocabularyKeepsOnlyItsLength) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 20000; ++i) tokens.push_back("tok" + std::to_string(i));
  GgufWriter w;
  w.kv_str("general.architecture", "qwen2").kv_str_array("tokenizer.ggml.tokens", tokens);
  std::vector<uint32_t> types(20000, 1);
  w.kv_u32_array("tokenizer.ggml.token_type", types);
  w.kv_u32("general.file_type", 1);
  const auto info = ebb::read_gguf_header(write(w.build()));
  EXPECT_EQ(info.vocab_size(), 20000u);
  const auto* t = info.find("tokenizer.ggml.tokens");
  EXPECT_EQ(t->array_type, ebb::GgufType::String);
  EXPECT_FALSE(t->array_kept);
  EXPECT_TRUE(t->array.empty());
  EXPECT_TRUE(t->to_json().is_null());
  EXPECT_FALSE(info.find("tokenizer.ggml.token_type")->array_kept);
  EXPECT_EQ(info.quantization_level(), "F16");  // the KV after the arrays is still read correctly
}

TEST_F(GgufReaderTest, KeepArraysReadsAWholeVocabulary) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 20000; ++i) tokens.push_back("tok" + std::to_string(i));
  GgufWriter w;
  w.kv_str("general.architecture", "qwen2").kv_str_array("tokenizer.ggml.tokens", tokens);
  w.kv_u32_array("tokenizer.ggml.token_type", std::vector<uint32_t>(20000, 1));
  w.kv_u32("general.file_type", 1);
  const auto info = ebb::read_gguf_header(write(w.build()), {.keep_arrays = true});
  const auto* t = info.find("tokenizer.ggml.tokens");
  ASSERT_TRUE(t->array_kept);
  ASSERT_EQ(t->array.size(), 20000u);
  EXPECT_EQ(std::get<std::string>(t->array[19999]), "tok19999");
  EXPECT_EQ(info.find("tokenizer.ggml.token_type")->array.size(), 20000u);
  EXPECT_EQ(info.quantization_level(), "F16");
}

TEST_F(GgufReaderTest, PerLayerHeadCountsAndEmbeddingModels) {
  GgufWriter w;
  w.kv_str("general.architecture", "openelm")
      .kv_u32_array("openelm.attention.head_count", {12, 16, 20})
      .kv_u32("openelm.pooling_type", 1);
  const auto info = ebb::read_gguf_header(write(w.build()));
  EXPECT_EQ(info.head_count(), 20u);
  EXPECT_EQ(info.head_count_kv(), 20u);  // falls back to head_count
  EXPECT_EQ(*info.find("openelm.attention.head_count")->as_uint_array(), (std::vector<uint64_t>{12, 16, 20}));
  EXPECT_TRUE(info.is_embedding_model());

  GgufWriter bert;
  bert.kv_str("general.architecture", "bert");
  EXPECT_TRUE(ebb::read_gguf_header(write(bert.build(), "bert.gguf")).is_embedding_model());
}

TEST_F(GgufReaderTest, QuantizationFromTensorsWhenFileTypeIsMissing) {
  GgufWriter w;
  w.kv_str("general.architecture", "llama")
      .tensor("a", {64}, 0, 256)            // 1-D F32: ignored
      .tensor("b", {256, 4}, 12, 4 * 144)   // Q4_K
      .tensor("c", {256, 2}, 14, 2 * 210);  // Q6_K
  EXPECT_EQ(ebb::read_gguf_header(write(w.build())).quantization_level(), "Q4_K");
  EXPECT_STREQ(ebb::llama_file_type_name(15), "Q4_K_M");
  EXPECT_EQ(ebb::llama_file_type_name(4), nullptr);
}

TEST_F(GgufReaderTest, TypeTable) {
  const struct {
    uint32_t id;
    const char* name;
    uint32_t block, size;
  } expected[] = {
      {0, "F32", 1, 4},       {1, "F16", 1, 2},    {2, "Q4_0", 32, 18}, {3, "Q4_1", 32, 20},   {6, "Q5_0", 32, 22},
      {7, "Q5_1", 32, 24},    {8, "Q8_0", 32, 34}, {9, "Q8_1", 32, 36}, {10, "Q2_K", 256, 84}, {14, "Q6_K", 256, 210},
      {15, "Q8_K", 256, 292}, {24, "I8", 1, 1},    {28, "F64", 1, 8},   {30, "BF16", 1, 2},    {39, "MXFP4", 32, 17},
  };
  for (const auto& e : expected) {
    const auto* t = ebb::ggml_type_traits(e.id);
    ASSERT_NE(t, nullptr) << e.id;
    EXPECT_STREQ(t->name, e.name);
    EXPECT_EQ(t->block_size, e.block);
    EXPECT_EQ(t->type_size, e.size);
  }
  EXPECT_EQ(ebb::ggml_type_traits(4), nullptr);   // removed Q4_2
  EXPECT_EQ(ebb::ggml_type_traits(31), nullptr);  // removed Q4_0_4_4
  EXPECT_EQ(ebb::ggml_type_traits(43), nullptr);
  EXPECT_EQ(ebb::ggml_type_traits(UINT32_MAX), nullptr);
}

// --- broken files ---

TEST_F(GgufReaderTest, BadMagic) {
  std::string bytes = tiny_model().build();
  bytes[0] = 'X';
  EXPECT_CONTAINS(error_for(bytes), "not a GGUF file (bad magic 'XGUF')");
  EXPECT_CONTAINS(error_for("GG"), "not a GGUF file (bad magic");
  EXPECT_CONTAINS(error_for("{\"json\": true}"), "bad magic '{\"js'");
}

TEST_F(GgufReaderTest, EmptyFile) { EXPECT_CONTAINS(error_for(""), "empty file"); }

TEST_F(GgufReaderTest, Versions) {
  GgufWriter w = tiny_model();
  w.version = 7;
  EXPECT_CONTAINS(error_for(w.build()), "unsupported GGUF version 7");
  w.version = 1;
  EXPECT_CONTAINS(error_for(w.build()), "version 1 is no longer supported");
  w.version = 0;
  EXPECT_CONTAINS(error_for(w.build()), "unsupported GGUF version 0");
  w.version = 0x03000000;
  EXPECT_CONTAINS(error_for(w.build()), "big-endian");
}

TEST_F(GgufReaderTest, TruncatedHeader) {
  const std::string bytes = tiny_model().build();
  EXPECT_CONTAINS(error_for(bytes.substr(0, 6)), "truncated: version at byte 4 needs 4 bytes");
  EXPECT_CONTAINS(error_for(bytes.substr(0, 20)), "truncated: metadata count");
  EXPECT_CONTAINS(error_for(bytes.substr(0, 60)), "metadata count 12 does not fit in the file (36 bytes left");
  EXPECT_CONTAINS(error_for(bytes.substr(0, 200)), "exceeds the file");  // inside a key/value
}

TEST_F(GgufReaderTest, TruncatedTensorData) {
  const std::string bytes = tiny_model().build();
  const std::string reason = error_for(bytes.substr(0, bytes.size() - 100));
  EXPECT_CONTAINS(reason, "truncated: tensor data of 'blk.0.attn_q.weight' ends at byte " +
                              std::to_string(bytes.size()) + " but the file has " + std::to_string(bytes.size() - 100) +
                              " bytes");
}

TEST_F(GgufReaderTest, AbsurdCounts) {
  const std::string bytes = tiny_model().build();
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, 16, 1ULL << 62)), "metadata count 4611686018427387904 does not fit");
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, 8, 1ULL << 60)), "tensor count 1152921504606846976 does not fit");
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, 8, UINT64_MAX)), "does not fit in the file");
}

TEST_F(GgufReaderTest, HugeStringLength) {
  const std::string bytes = tiny_model().build();
  // The first key's length sits right after the 24-byte header.
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, 24, 4000000000ULL)),
                  "string length 4000000000 of metadata key #0 (at byte 24) exceeds the file");
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, 24, UINT64_MAX)), "exceeds the file");

  GgufWriter w;
  w.kv_str("general.architecture", "llama");
  std::string big = w.build();  // value length at 24 + 8 + 20 + 4
  EXPECT_CONTAINS(error_for(with_u64_at(big, 56, 1ULL << 40)), "of value of 'general.architecture'");
}

TEST_F(GgufReaderTest, HugeArrayLength) {
  GgufWriter w;
  w.kv_u32_array("a", {1, 2, 3});
  const std::string bytes = w.build();  // key(8+1) type(4) elem type(4) length(8) at 24+9+8
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, 41, 1ULL << 29)), "array 'a' of 536870912 u32 values exceeds the file");
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, 41, 1ULL << 62)), "array 'a' has 4611686018427387904 elements");
}

TEST_F(GgufReaderTest, BadValueTypes) {
  GgufWriter w;
  w.kv_u32("general.alignment", 32);
  std::string bytes = w.build();
  bytes[24 + 8 + 17] = 13;  // the value type
  EXPECT_CONTAINS(error_for(bytes), "metadata 'general.alignment' has unknown value type 13");

  GgufWriter wrong_type;
  wrong_type.kv_u64("general.alignment", 32);
  EXPECT_CONTAINS(error_for(wrong_type.build()), "general.alignment must be of type u32, not u64");

  GgufWriter odd;
  odd.kv_u32("general.alignment", 48);
  EXPECT_CONTAINS(error_for(odd.build()), "general.alignment 48 is not a power of 2");

  GgufWriter dup;
  dup.kv_u32("k", 1).kv_u32("k", 2);
  EXPECT_CONTAINS(error_for(dup.build()), "duplicate metadata key 'k'");

  GgufWriter empty_key;
  empty_key.kv_u32("", 1);
  EXPECT_CONTAINS(error_for(empty_key.build()), "metadata key #0 is empty");
}

TEST_F(GgufReaderTest, FileBytesAreEscapedInMessagesAndJson) {
  GgufWriter w;
  w.kv_str("bad\nkey", "x").kv_u32("bad\nkey", 1);
  EXPECT_CONTAINS(error_for(w.build()), "duplicate metadata key 'bad\\x0akey'");

  GgufWriter names;
  names.tensor("t\x01", {32}, 77, 128);
  EXPECT_CONTAINS(error_for(names.build()), "tensor 't\\x01' has unknown ggml type id 77");

  GgufWriter text;
  text.kv_str("general.name", "caf\xC3\xA9 \xFF\xC3");
  const auto info = ebb::read_gguf_header(write(text.build()));
  EXPECT_EQ(*info.find("general.name")->as_string(), "caf\xC3\xA9 \xFF\xC3");  // kept as is
  EXPECT_EQ(info.find("general.name")->to_json().dump(), "\"caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST_F(GgufReaderTest, UnknownTensorType) {
  GgufWriter w;
  w.tensor("t", {32}, 77, 128);
  EXPECT_CONTAINS(error_for(w.build()), "tensor 't' has unknown ggml type id 77");
  GgufWriter removed;
  removed.tensor("t", {32}, 31, 128);
  EXPECT_CONTAINS(error_for(removed.build()), "ggml type 31 (Q4_0_4_4), which GGUF files no longer support");
}

TEST_F(GgufReaderTest, BadShapes) {
  GgufWriter nine;
  nine.tensor("t", {1, 1, 1, 1, 1, 1, 1, 1, 1}, 0, 4);
  EXPECT_CONTAINS(error_for(nine.build()), "tensor 't' has 9 dimensions; at most 4 are supported");

  GgufWriter negative;
  negative.tensor("t", {32, -1}, 0, 4);
  EXPECT_CONTAINS(error_for(negative.build()), "tensor 't' dimension 1 is negative (-1)");

  GgufWriter zero;
  zero.tensor("t", {32, 0}, 0, 4);
  EXPECT_CONTAINS(error_for(zero.build()), "tensor 't' dimension 1 is 0: every dimension must be at least 1");

  GgufWriter overflow;
  overflow.tensor("t", {1LL << 40, 1LL << 40}, 0, 4);
  EXPECT_CONTAINS(error_for(overflow.build()), "has too many elements");

  GgufWriter row;
  row.tensor("t", {33, 2}, 2, 36);
  EXPECT_CONTAINS(error_for(row.build()),
                  "tensor 't' of type Q4_0 has 33 elements per row, not a multiple of the block size 32");

  GgufWriter unaddressable;  // 2^62 F64 elements: 2^65 bytes
  unaddressable.tensor("t", {1LL << 31, 1LL << 31}, 28, 8);
  EXPECT_CONTAINS(error_for(unaddressable.build()), "tensor 't' is too large to address");

  GgufWriter huge_bytes;  // 2^62 bytes: representable, but not in this file
  huge_bytes.tensor("t", {1LL << 31, 1LL << 28}, 28, 8);
  EXPECT_CONTAINS(error_for(huge_bytes.build()), "truncated: tensor data of 't' ends at byte");

  GgufWriter long_name;
  long_name.tensor(std::string(64, 'n'), {32}, 0, 128);
  EXPECT_CONTAINS(error_for(long_name.build()), "string length 64 of name of tensor #0");

  GgufWriter dup;
  dup.tensor("t", {32}, 0, 128).tensor("t", {32}, 0, 128);
  EXPECT_CONTAINS(error_for(dup.build()), "duplicate tensor name 't'");
}

// The corpus the server's tests drop into a models directory (tests/common/bad_gguf.h), made
// here from the small model: each file fails for its own reason.
TEST_F(GgufReaderTest, EachFileOfTheBadCorpusFailsForItsReason) {
  const std::string good = tiny_model().build();
  ASSERT_NO_THROW(ebb::read_gguf_header(write(good)));
  const auto corpus = ebb::test::bad_gguf_corpus(good);
  ASSERT_EQ(corpus.size(), 8u);
  for (const auto& bad : corpus) {
    SCOPED_TRACE(bad.name);
    EXPECT_CONTAINS(error_for(bad.bytes), bad.reason);
  }
}

TEST_F(GgufReaderTest, MisplacedTensorOffsets) {
  GgufWriter w;
  w.tensor("a", {32}, 0, 128).tensor("b", {32}, 0, 128);
  const std::string bytes = w.build();
  // Tensor "b"'s offset is the last 8 bytes of its info: 24 + (8+1+4+8+4+8) + (8+1+4+8+4).
  const size_t b_offset_at = 24 + 33 + 25;
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, b_offset_at, 130)),
                  "tensor 'b' data offset 130 is not a multiple of the alignment 32");
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, b_offset_at, 256)), "tensor 'b' data offset is 256, expected 128");
  EXPECT_CONTAINS(error_for(with_u64_at(bytes, b_offset_at, 1ULL << 63)), "data offset is 9223372036854775808");
}

TEST_F(GgufReaderTest, CustomAlignment) {
  GgufWriter w;
  w.alignment = 64;
  w.kv_u32("general.alignment", 64).tensor("a", {8}, 0, 32).tensor("b", {8}, 0, 32);
  const auto info = ebb::read_gguf_header(write(w.build()));
  EXPECT_EQ(info.alignment, 64u);
  EXPECT_EQ(info.data_offset % 64, 0u);
  EXPECT_EQ(info.tensors[1].offset, 64u);
}

TEST_F(GgufReaderTest, PathsThatAreNotFiles) {
  try {
    ebb::read_gguf_header(dir_.string());
    FAIL();
  } catch (const ebb::GgufError& e) {
    EXPECT_CONTAINS(e.reason(), "is a directory");
    EXPECT_EQ(e.path(), dir_.string());
    EXPECT_CONTAINS(e.what(), dir_.string() + ": is a directory");
  }
  try {
    ebb::read_gguf_header((dir_ / "missing.gguf").string());
    FAIL();
  } catch (const ebb::GgufError& e) {
    EXPECT_CONTAINS(e.reason(), "cannot open: No such file or directory");
  }
  const std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  try {
    ebb::read_gguf_header(fifo);  // must not block waiting for a writer
    FAIL();
  } catch (const ebb::GgufError& e) {
    EXPECT_CONTAINS(e.reason(), "not a regular file");
  }
}

// Random byte flips and truncations of valid files: only GgufError or success, never a crash.
TEST_F(GgufReaderTest, FuzzedFilesNeverCrash) {
  GgufWriter big_vocab = tiny_model();
  std::vector<std::string> tokens;
  for (int i = 0; i < 100; ++i) tokens.push_back("t" + std::to_string(i));
  big_vocab.kv_str_array("tokenizer.ggml.merges", tokens).kv_u32_array("x.per_layer", {1, 2, 3, 4});
  const std::vector<std::string> seeds = {tiny_model().build(), big_vocab.build()};

  std::mt19937_64 rng(20240531);
  int ok = 0, errors = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string bytes = seeds[iter % seeds.size()];
    const int mode = int(rng() % 4);
    if (mode == 0) {  // truncate
      bytes.resize(rng() % bytes.size());
    } else {  // flip a few bytes, biased towards the header where the structure is
      const int flips = 1 + int(rng() % 4);
      const size_t header = std::min<size_t>(bytes.size(), 700);
      for (int f = 0; f < flips; ++f) {
        const size_t at = (mode == 3 ? rng() % bytes.size() : rng() % header);
        bytes[at] = char(mode == 2 ? 0xFF : rng() & 0xFF);
      }
    }
    try {
      const auto info = ebb::read_gguf_header(write(bytes, "fuzz.gguf"));
      // Whatever was accepted is self-consistent.
      for (const auto& t : info.tensors) ASSERT_LE(info.data_offset + t.offset + t.n_bytes, info.file_size);
      (void)info.quantization_level();
      for (const auto& [key, value] : info.metadata) (void)value.to_json().dump();  // valid UTF-8
      ++ok;
    } catch (const ebb::GgufError&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 1000);
  EXPECT_GT(ok, 10);
}

}  // namespace
