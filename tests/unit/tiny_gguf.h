#pragma once
// A GGUF file small enough to build byte by byte: general.architecture, general.name,
// general.file_type and one 4x2 F16 tensor; enough for the header reader, not for llama.cpp.
#include <cstdint>
#include <string>

namespace ebb::test {

inline std::string tiny_gguf(const std::string& arch, uint32_t file_type, const std::string& name) {
  std::string b;
  auto u32 = [&](uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [&](uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); };
  auto str = [&](const std::string& s) {
    u64(s.size());
    b += s;
  };
  b += "GGUF";
  u32(3);  // version
  u64(1);  // tensors
  u64(3);  // metadata entries
  str("general.architecture");
  u32(8);  // string
  str(arch);
  str("general.name");
  u32(8);
  str(name);
  str("general.file_type");
  u32(4);  // u32
  u32(file_type);
  str("token_embd.weight");
  u32(2);  // dims
  u64(4);
  u64(2);
  u32(1);  // F16
  u64(0);  // offset
  b.resize((b.size() + 31) / 32 * 32, '\0');
  b.append(16, '\x01');  // 8 F16 values
  return b;
}

}  // namespace ebb::test
