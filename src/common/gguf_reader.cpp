#include "common/gguf_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ebb {
namespace {

// Limits that keep a hostile header from costing much memory or time. Real models stay far below.
constexpr uint64_t kMaxTensors = 1ULL << 20;
constexpr uint64_t kMaxKeys = 1ULL << 20;
constexpr uint64_t kMaxKeyBytes = 64 * 1024;
constexpr uint64_t kMaxKeptStringBytes = 16ULL << 20;    // a chat template is ~100 KiB
constexpr uint64_t kMaxSkippedStringBytes = 1ULL << 30;  // llama.cpp's GGUF_MAX_STRING_LENGTH
constexpr uint64_t kMaxArrayElements = 1ULL << 30;       // llama.cpp's GGUF_MAX_ARRAY_ELEMENTS
constexpr uint64_t kMaxTensorNameBytes = 63;             // GGML_MAX_NAME - 1
constexpr uint32_t kMaxDims = 4;
constexpr uint32_t kDefaultAlignment = 32;
// Smallest possible encodings, used to bound counts by the bytes left in the file.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;          // key length, 1-byte key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // name length, n_dims (0), type, offset
constexpr uint32_t kFileTypeGuessedFlag = 1024;          // LLAMA_FTYPE_GUESSED

// ggml_type ids (ggml.h enum ggml_type) with block sizes and bytes per block (ggml.c type_traits).
// Removed ids have a name and zero sizes, so they get their own error message.
constexpr GgmlTypeTraits kGgmlTypes[] = {
    {"F32", 1, 4},      {"F16", 1, 2},        {"Q4_0", 32, 18},     {"Q4_1", 32, 20},     {"Q4_2", 0, 0},
    {"Q4_3", 0, 0},     {"Q5_0", 32, 22},     {"Q5_1", 32, 24},     {"Q8_0", 32, 34},     {"Q8_1", 32, 36},
    {"Q2_K", 256, 84},  {"Q3_K", 256, 110},   {"Q4_K", 256, 144},   {"Q5_K", 256, 176},   {"Q6_K", 256, 210},
    {"Q8_K", 256, 292}, {"IQ2_XXS", 256, 66}, {"IQ2_XS", 256, 74},  {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
    {"IQ4_NL", 32, 18}, {"IQ3_S", 256, 110},  {"IQ2_S", 256, 82},   {"IQ4_XS", 256, 136}, {"I8", 1, 1},
    {"I16", 1, 2},      {"I32", 1, 4},        {"I64", 1, 8},        {"F64", 1, 8},        {"IQ1_M", 256, 56},
    {"BF16", 1, 2},     {"Q4_0_4_4", 0, 0},   {"Q4_0_4_8", 0, 0},   {"Q4_0_8_8", 0, 0},   {"TQ1_0", 256, 54},
    {"TQ2_0", 256, 66}, {"IQ4_NL_4_4", 0, 0}, {"IQ4_NL_4_8", 0, 0}, {"IQ4_NL_8_8", 0, 0}, {"MXFP4", 32, 17},
    {"NVFP4", 64, 36},  {"Q1_0", 128, 18},    {"Q2_0", 64, 18},
};

// llama_ftype (llama.h) names, as Ollama prints them.
constexpr std::pair<uint32_t, const char*> kFileTypes[] = {
    {0, "F32"},     {1, "F16"},     {2, "Q4_0"},     {3, "Q4_1"},    {7, "Q8_0"},     {8, "Q5_0"},
    {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"},  {12, "Q3_K_M"}, {13, "Q3_K_L"},  {14, "Q4_K_S"},
    {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},  {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"},
    {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"}, {24, "IQ1_S"},  {25, "IQ4_NL"},  {26, "IQ3_S"},
    {27, "IQ3_M"},  {28, "IQ2_S"},  {29, "IQ2_M"},   {30, "IQ4_XS"}, {31, "IQ1_M"},   {32, "BF16"},
    {36, "TQ1_0"},  {37, "TQ2_0"},  {38, "MXFP4"},   {39, "NVFP4"},  {40, "Q1_0"},    {41, "Q2_0"},
};

// Architectures that only embed (no generation).
constexpr const char* kEncoderOnlyArchitectures[] = {
    "bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "neo-bert", "modern-bert", "t5encoder",
};

uint64_t fixed_size(GgufType type) {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool: return 1;
    case GgufType::U16:
    case GgufType::I16: return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32: return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64: return 8;
    default: return 0;  // String, Array
  }
}

bool valid_type(uint32_t id) { return id <= static_cast<uint32_t>(GgufType::F64); }

uint64_t align_up(uint64_t value, uint64_t alignment) {
  const uint64_t rem = value % alignment;
  if (rem == 0) return value;
  const uint64_t add = alignment - rem;
  return value > std::numeric_limits<uint64_t>::max() - add ? std::numeric_limits<uint64_t>::max() : value + add;
}

// Keys and names come from the file: escape anything unprintable before putting them in messages.
std::string printable(std::string_view text) {
  constexpr size_t kMaxShown = 80;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\')
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  if (text.size() > kMaxShown) out += "...";
  return out;
}

// Length of the valid UTF-8 sequence at s[i], 0 if invalid.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t len = 0;
  uint32_t code = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    code = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    code = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    code = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMinCode[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kMinCode[len] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return len;
}

// JSON output throws on invalid UTF-8; replace bad bytes with U+FFFD.
std::string valid_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8_sequence_length(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  return out;
}

template <typename T>
T load_le(const unsigned char* bytes) {
  std::make_unsigned_t<T> v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<std::make_unsigned_t<T>>(bytes[i]) << (8 * i);
  return static_cast<T>(v);
}

struct FileDescriptor {
  int fd = -1;
  explicit FileDescriptor(int fd) : fd(fd) {}
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
};

// Sequential reads from a file through a small buffer, never past its end.
class HeaderReader {
 public:
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is rejected below anyway.
  explicit HeaderReader(const std::string& path)
      : path_(path), file_(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) {
    if (file_.fd < 0) fail(fmt::format("cannot open: {}", std::strerror(errno)));
    struct stat st {};
    if (::fstat(file_.fd, &st) != 0) fail(fmt::format("cannot stat: {}", std::strerror(errno)));
    if (S_ISDIR(st.st_mode)) fail("is a directory, not a GGUF file");
    if (!S_ISREG(st.st_mode)) fail("not a regular file");
    size_ = static_cast<uint64_t>(st.st_size);
  }

  [[noreturn]] void fail(const std::string& reason) const { throw GgufError(path_, reason); }

  uint64_t size() const { return size_; }
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  void need(uint64_t n, std::string_view what) const {
    if (n > remaining()) {
      fail(fmt::format("truncated: {} at byte {} needs {} bytes but the file has {} bytes", what, pos_, n, size_));
    }
  }

  void read(void* dst, uint64_t n, std::string_view what) {
    need(n, what);
    auto* out = static_cast<unsigned char*>(dst);
    while (n > 0) {
      if (pos_ < buf_start_ || pos_ >= buf_start_ + buf_len_) fill(n, out);
      if (n == 0) break;
      const uint64_t in_buf = buf_start_ + buf_len_ - pos_;
      const uint64_t take = std::min(n, in_buf);
      std::memcpy(out, buf_.data() + (pos_ - buf_start_), take);
      out += take;
      pos_ += take;
      n -= take;
    }
  }

  void skip(uint64_t n, std::string_view what) {
    need(n, what);
    pos_ += n;
  }

  template <typename T>
  T read_int(std::string_view what) {
    unsigned char bytes[sizeof(T)];
    read(bytes, sizeof(T), what);
    return load_le<T>(bytes);
  }

  // Reads the u64 length of a string and checks it against the file and `max_len`.
  uint64_t read_string_length(std::string_view what, uint64_t max_len) {
    const uint64_t at = pos_;
    const uint64_t len = read_int<uint64_t>(what);
    if (len > remaining()) {
      fail(fmt::format("string length {} of {} (at byte {}) exceeds the file ({} bytes left)", len, what, at,
                       remaining()));
    }
    if (len > max_len) {
      fail(fmt::format("string length {} of {} (at byte {}) exceeds the limit of {} bytes", len, what, at, max_len));
    }
    return len;
  }

  std::string read_string(std::string_view what, uint64_t max_len) {
    std::string s(read_string_length(what, max_len), '\0');
    read(s.data(), s.size(), what);
    return s;
  }

  void skip_string(std::string_view what) { skip(read_string_length(what, kMaxSkippedStringBytes), what); }

 private:
  // Refills the buffer at pos_, or reads a large request straight into `out`.
  void fill(uint64_t& n, unsigned char*& out) {
    if (n >= buf_.size()) {
      pread_all(out, n, pos_);
      out += n;
      pos_ += n;
      n = 0;
      return;
    }
    const uint64_t len = std::min<uint64_t>(buf_.size(), remaining());
    pread_all(buf_.data(), len, pos_);
    buf_start_ = pos_;
    buf_len_ = len;
  }

  void pread_all(unsigned char* dst, uint64_t n, uint64_t offset) {
    while (n > 0) {
      const ssize_t got = ::pread(file_.fd, dst, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail(fmt::format("read error at byte {}: {}", offset, std::strerror(errno)));
      if (got == 0) fail(fmt::format("file shrank while reading (byte {})", offset));
      dst += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<uint64_t>(got);
    }
  }

  std::string path_;
  FileDescriptor file_;
  uint64_t size_ = 0;
  uint64_t pos_ = 0;
  std::vector<unsigned char> buf_ = std::vector<unsigned char>(64 * 1024);
  uint64_t buf_start_ = 0;
  uint64_t buf_len_ = 0;
};

GgufScalar read_scalar(HeaderReader& r, GgufType type, std::string_view what) {
  switch (type) {
    case GgufType::U8: return uint64_t{r.read_int<uint8_t>(what)};
    case GgufType::I8: return int64_t{r.read_int<int8_t>(what)};
    case GgufType::U16: return uint64_t{r.read_int<uint16_t>(what)};
    case GgufType::I16: return int64_t{r.read_int<int16_t>(what)};
    case GgufType::U32: return uint64_t{r.read_int<uint32_t>(what)};
    case GgufType::I32: return int64_t{r.read_int<int32_t>(what)};
    case GgufType::U64: return r.read_int<uint64_t>(what);
    case GgufType::I64: return r.read_int<int64_t>(what);
    case GgufType::Bool: return r.read_int<uint8_t>(what) != 0;
    case GgufType::F32: {
      const uint32_t bits = r.read_int<uint32_t>(what);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return double{f};
    }
    case GgufType::F64: {
      const uint64_t bits = r.read_int<uint64_t>(what);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return d;
    }
    case GgufType::String: return r.read_string(what, kMaxKeptStringBytes);
    case GgufType::Array: break;
  }
  r.fail(fmt::format("{}: unexpected value type", what));
}

GgufValue read_value(HeaderReader& r, const std::string& key, bool keep_arrays) {
  GgufValue value;
  const std::string shown = printable(key);
  const std::string what = fmt::format("value of '{}'", shown);
  const uint32_t type_id = r.read_int<uint32_t>(what);
  if (!valid_type(type_id)) r.fail(fmt::format("metadata '{}' has unknown value type {}", shown, type_id));
  value.type = static_cast<GgufType>(type_id);
  if (value.type != GgufType::Array) {
    value.scalar = read_scalar(r, value.type, what);
    return value;
  }

  const uint32_t elem_id = r.read_int<uint32_t>(what);
  if (!valid_type(elem_id)) r.fail(fmt::format("array '{}' has unknown element type {}", shown, elem_id));
  value.array_type = static_cast<GgufType>(elem_id);
  if (value.array_type == GgufType::Array) r.fail(fmt::format("array '{}' nests arrays, which GGUF forbids", shown));
  const uint64_t n = r.read_int<uint64_t>(what);
  value.array_length = n;
  if (n > kMaxArrayElements) {
    r.fail(fmt::format("array '{}' has {} elements; the limit is {}", shown, n, kMaxArrayElements));
  }
  // Every element takes at least its fixed size, or 8 bytes of length for strings.
  const uint64_t min_elem = value.array_type == GgufType::String ? 8 : fixed_size(value.array_type);
  if (n > r.remaining() / min_elem) {
    r.fail(fmt::format("array '{}' of {} {} values exceeds the file ({} bytes left at byte {})", shown, n,
                       gguf_type_name(value.array_type), r.remaining(), r.pos()));
  }
  const uint64_t keep_limit =
      value.array_type == GgufType::String ? GgufValue::kMaxKeptStrings : GgufValue::kMaxKeptNumbers;
  value.array_kept = keep_arrays || n <= keep_limit;
  if (value.array_kept) {
    value.array.reserve(n);
    for (uint64_t i = 0; i < n; ++i) value.array.push_back(read_scalar(r, value.array_type, what));
  } else if (value.array_type == GgufType::String) {
    for (uint64_t i = 0; i < n; ++i) r.skip_string(what);
  } else {
    r.skip(n * min_elem, what);
  }
  return value;
}

void read_metadata(HeaderReader& r, uint64_t n_kv, GgufInfo& info, bool keep_arrays) {
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string key_what = fmt::format("metadata key #{}", i);
    std::string key = r.read_string(key_what, kMaxKeyBytes);
    if (key.empty()) r.fail(fmt::format("{} is empty", key_what));
    if (info.metadata.count(key)) r.fail(fmt::format("duplicate metadata key '{}'", printable(key)));
    GgufValue value = read_value(r, key, keep_arrays);
    info.metadata.emplace(std::move(key), std::move(value));
  }

  if (const GgufValue* a = info.find("general.alignment")) {
    if (a->type != GgufType::U32) {
      r.fail(fmt::format("general.alignment must be of type u32, not {}", gguf_type_name(a->type)));
    }
    const uint64_t alignment = *a->as_uint();
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
      r.fail(fmt::format("general.alignment {} is not a power of 2", alignment));
    }
    info.alignment = static_cast<uint32_t>(alignment);
  }
}

GgufTensorInfo read_tensor_info(HeaderReader& r, uint64_t index) {
  GgufTensorInfo t;
  t.name = r.read_string(fmt::format("name of tensor #{}", index), kMaxTensorNameBytes);
  const std::string shown = printable(t.name);
  const std::string what = fmt::format("info of tensor '{}'", shown);

  t.n_dims = r.read_int<uint32_t>(what);
  if (t.n_dims > kMaxDims) {
    r.fail(fmt::format("tensor '{}' has {} dimensions; at most {} are supported", shown, t.n_dims, kMaxDims));
  }
  for (uint32_t d = 0; d < t.n_dims; ++d) {
    t.ne[d] = r.read_int<int64_t>(what);
    if (t.ne[d] < 0) r.fail(fmt::format("tensor '{}' dimension {} is negative ({})", shown, d, t.ne[d]));
    // llama.cpp would take an empty tensor, but no model has one: a 0 is a corrupt header.
    if (t.ne[d] == 0)
      r.fail(fmt::format("tensor '{}' dimension {} is 0: every dimension must be at least 1", shown, d));
  }
  // llama.cpp needs the element count to fit in int64.
  int64_t elements = 1;
  for (int64_t ne : t.ne) {
    if (__builtin_mul_overflow(elements, ne, &elements)) {
      r.fail(fmt::format("tensor '{}' shape [{}, {}, {}, {}] has too many elements", shown, t.ne[0], t.ne[1], t.ne[2],
                         t.ne[3]));
    }
  }
  t.n_elements = static_cast<uint64_t>(elements);

  t.type = r.read_int<uint32_t>(what);
  const GgmlTypeTraits* traits = ggml_type_traits(t.type);
  if (!traits) {
    if (t.type < std::size(kGgmlTypes)) {
      r.fail(fmt::format("tensor '{}' uses ggml type {} ({}), which GGUF files no longer support", shown, t.type,
                         kGgmlTypes[t.type].name));
    }
    r.fail(fmt::format("tensor '{}' has unknown ggml type id {}", shown, t.type));
  }
  if (t.ne[0] % traits->block_size != 0) {
    r.fail(fmt::format("tensor '{}' of type {} has {} elements per row, not a multiple of the block size {}", shown,
                       traits->name, t.ne[0], traits->block_size));
  }
  const uint64_t blocks = t.n_elements / traits->block_size;
  if (blocks > std::numeric_limits<uint64_t>::max() / traits->type_size) {
    r.fail(fmt::format("tensor '{}' is too large to address", shown));
  }
  t.n_bytes = blocks * traits->type_size;
  t.offset = r.read_int<uint64_t>(what);
  return t;
}

// Tensor data must be packed in header order at aligned offsets (llama.cpp refuses anything else)
// and lie inside the file.
void check_tensor_data(const HeaderReader& r, const GgufInfo& info) {
  uint64_t expected = 0;
  for (const GgufTensorInfo& t : info.tensors) {
    if (t.offset % info.alignment != 0) {
      r.fail(fmt::format("tensor '{}' data offset {} is not a multiple of the alignment {}", printable(t.name),
                         t.offset, info.alignment));
    }
    if (t.offset != expected) {
      r.fail(fmt::format("tensor '{}' data offset is {}, expected {} (tensor data must be packed in header order)",
                         printable(t.name), t.offset, expected));
    }
    uint64_t end = 0;
    const bool overflow =
        __builtin_add_overflow(info.data_offset, t.offset, &end) || __builtin_add_overflow(end, t.n_bytes, &end);
    if (overflow || end > info.file_size) {
      r.fail(fmt::format("truncated: tensor data of '{}' ends at byte {} but the file has {} bytes", printable(t.name),
                         overflow ? "beyond 2^64" : std::to_string(end), info.file_size));
    }
    expected = align_up(t.offset + t.n_bytes, info.alignment);
  }
}

}  // namespace

const char* gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::Bool: return "bool";
    case GgufType::String: return "string";
    case GgufType::Array: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "unknown";
}

const GgmlTypeTraits* ggml_type_traits(uint32_t type_id) {
  if (type_id >= std::size(kGgmlTypes) || kGgmlTypes[type_id].block_size == 0) return nullptr;
  return &kGgmlTypes[type_id];
}

const char* llama_file_type_name(uint32_t file_type) {
  for (const auto& [id, name] : kFileTypes) {
    if (id == file_type) return name;
  }
  return nullptr;
}

// --- GgufValue ---

std::optional<uint64_t> GgufValue::as_uint() const {
  if (is_array()) return std::nullopt;
  if (const auto* u = std::get_if<uint64_t>(&scalar)) return *u;
  if (const auto* i = std::get_if<int64_t>(&scalar); i && *i >= 0) return static_cast<uint64_t>(*i);
  return std::nullopt;
}

std::optional<int64_t> GgufValue::as_int() const {
  if (is_array()) return std::nullopt;
  if (const auto* i = std::get_if<int64_t>(&scalar)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&scalar);
      u && *u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

std::optional<double> GgufValue::as_double() const {
  if (is_array()) return std::nullopt;
  if (const auto* d = std::get_if<double>(&scalar)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&scalar)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&scalar)) return static_cast<double>(*i);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
  if (const auto* b = std::get_if<bool>(&scalar); b && !is_array()) return *b;
  return std::nullopt;
}

const std::string* GgufValue::as_string() const { return is_array() ? nullptr : std::get_if<std::string>(&scalar); }

std::optional<std::vector<uint64_t>> GgufValue::as_uint_array() const {
  if (!is_array() || !array_kept) return std::nullopt;
  std::vector<uint64_t> out;
  out.reserve(array.size());
  for (const GgufScalar& s : array) {
    if (const auto* u = std::get_if<uint64_t>(&s))
      out.push_back(*u);
    else if (const auto* i = std::get_if<int64_t>(&s); i && *i >= 0)
      out.push_back(static_cast<uint64_t>(*i));
    else
      return std::nullopt;
  }
  return out;
}

namespace {
nlohmann::json scalar_json(const GgufScalar& s) {
  if (const auto* text = std::get_if<std::string>(&s)) return valid_utf8(*text);
  return std::visit([](const auto& v) { return nlohmann::json(v); }, s);
}
}  // namespace

nlohmann::json GgufValue::to_json() const {
  if (!is_array()) return scalar_json(scalar);
  if (!array_kept) return nullptr;
  nlohmann::json out = nlohmann::json::array();
  for (const GgufScalar& s : array) out.push_back(scalar_json(s));
  return out;
}

// --- GgufInfo ---

const GgufValue* GgufInfo::find(std::string_view key) const {
  const auto it = metadata.find(key);
  return it == metadata.end() ? nullptr : &it->second;
}

std::optional<uint64_t> GgufInfo::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  return v ? v->as_uint() : std::nullopt;
}

std::optional<std::string> GgufInfo::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  const std::string* s = v ? v->as_string() : nullptr;
  return s ? std::optional<std::string>(*s) : std::nullopt;
}

std::optional<uint64_t> GgufInfo::arch_uint(std::string_view suffix) const {
  const std::string arch = architecture();
  if (arch.empty()) return std::nullopt;
  const GgufValue* v = find(arch + "." + std::string(suffix));
  if (!v) return std::nullopt;
  if (!v->is_array()) return v->as_uint();
  const auto values = v->as_uint_array();
  if (!values || values->empty()) return std::nullopt;
  return *std::max_element(values->begin(), values->end());
}

std::string GgufInfo::architecture() const { return get_string("general.architecture").value_or(""); }
std::string GgufInfo::name() const { return get_string("general.name").value_or(""); }
std::optional<uint64_t> GgufInfo::context_length() const { return arch_uint("context_length"); }
std::optional<uint64_t> GgufInfo::embedding_length() const { return arch_uint("embedding_length"); }
std::optional<uint64_t> GgufInfo::block_count() const { return arch_uint("block_count"); }
std::optional<uint64_t> GgufInfo::head_count() const { return arch_uint("attention.head_count"); }

std::optional<uint64_t> GgufInfo::head_count_kv() const {
  if (auto kv = arch_uint("attention.head_count_kv")) return kv;
  return head_count();
}

std::optional<uint32_t> GgufInfo::file_type() const {
  const auto ft = get_uint("general.file_type");
  if (!ft || *ft > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<uint32_t>(*ft) & ~kFileTypeGuessedFlag;
}

std::optional<uint32_t> GgufInfo::pooling_type() const {
  const auto p = arch_uint("pooling_type");
  if (!p || *p > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<uint32_t>(*p);
}

uint64_t GgufInfo::vocab_size() const {
  const GgufValue* v = find("tokenizer.ggml.tokens");
  return v && v->is_array() ? v->array_length : 0;
}

bool GgufInfo::has_chat_template() const {
  const auto t = get_string("tokenizer.chat_template");
  return t && !t->empty();
}

bool GgufInfo::is_embedding_model() const {
  if (pooling_type().value_or(0) > 0) return true;
  const std::string arch = architecture();
  return std::any_of(std::begin(kEncoderOnlyArchitectures), std::end(kEncoderOnlyArchitectures),
                     [&](const char* a) { return arch == a; });
}

uint64_t GgufInfo::parameter_count() const {
  uint64_t total = 0;
  for (const auto& t : tensors) total += t.n_elements;
  return total;
}

uint64_t GgufInfo::tensor_bytes() const {
  uint64_t total = 0;
  for (const auto& t : tensors) total += t.n_bytes;
  return total;
}

std::string GgufInfo::quantization_level() const {
  if (const auto ft = file_type()) {
    if (const char* name = llama_file_type_name(*ft)) return name;
  }
  std::map<uint32_t, uint64_t> elements_by_type;
  for (const auto& t : tensors) {
    if (t.n_dims >= 2) elements_by_type[t.type] += t.n_elements;
  }
  const auto best = std::max_element(elements_by_type.begin(), elements_by_type.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
  if (best == elements_by_type.end()) return "unknown";
  const GgmlTypeTraits* traits = ggml_type_traits(best->first);
  return traits ? traits->name : "unknown";
}

// --- reading ---

GgufInfo read_gguf_header(const std::string& path, const GgufReadOptions& options) {
  HeaderReader r(path);
  GgufInfo info;
  info.path = path;
  info.file_size = r.size();
  if (info.file_size == 0) r.fail("empty file (0 bytes), not a GGUF file");

  if (info.file_size < 4) r.fail(fmt::format("not a GGUF file (bad magic: only {} bytes)", info.file_size));
  char magic[4];
  r.read(magic, 4, "magic");
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    std::string shown;
    for (char c : magic) shown += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    r.fail(fmt::format("not a GGUF file (bad magic '{}')", shown));
  }

  info.version = r.read_int<uint32_t>("version");
  if (info.version != 0 && (info.version & 0xFFFF) == 0) {
    r.fail(fmt::format("GGUF version field is 0x{:08x}: a big-endian file, which is not supported", info.version));
  }
  if (info.version == 1) r.fail("GGUF version 1 is no longer supported (convert the model again)");
  if (info.version < 2 || info.version > 3) r.fail(fmt::format("unsupported GGUF version {}", info.version));

  const uint64_t n_tensors = r.read_int<uint64_t>("tensor count");
  const uint64_t n_kv = r.read_int<uint64_t>("metadata count");
  if (n_kv > kMaxKeys || n_kv > r.remaining() / kMinKvBytes) {
    r.fail(
        fmt::format("metadata count {} does not fit in the file ({} bytes left after the header): truncated or "
                    "corrupt",
                    n_kv, r.remaining()));
  }
  read_metadata(r, n_kv, info, options.keep_arrays);

  if (n_tensors > kMaxTensors || n_tensors > r.remaining() / kMinTensorInfoBytes) {
    r.fail(
        fmt::format("tensor count {} does not fit in the file ({} bytes left after the metadata): truncated or "
                    "corrupt",
                    n_tensors, r.remaining()));
  }
  info.tensors.reserve(n_tensors);
  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    info.tensors.push_back(read_tensor_info(r, i));
    if (!names.insert(info.tensors.back().name).second) {
      r.fail(fmt::format("duplicate tensor name '{}'", printable(info.tensors.back().name)));
    }
  }

  info.data_offset = n_tensors > 0 ? align_up(r.pos(), info.alignment) : r.pos();
  if (info.data_offset > info.file_size) {
    r.fail(fmt::format("truncated: tensor data starts at byte {} but the file has {} bytes", info.data_offset,
                       info.file_size));
  }
  check_tensor_data(r, info);
  return info;
}

}  // namespace ebb
