#include "common/model_details.h"

#include <openssl/evp.h>

#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/human_format.h"

namespace ebb {

nlohmann::json model_details(const GgufInfo& info) {
  const std::string family = info.architecture();
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", family},
          {"families", family.empty() ? nlohmann::json::array() : nlohmann::json::array({family})},
          {"parameter_size", human_number(info.parameter_count())},
          {"quantization_level", info.quantization_level()}};
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

std::string model_digest(const std::string& path, uint64_t size, int64_t mtime_ns) {
  return sha256_hex(fmt::format("{}\n{}\n{}", path, size, mtime_ns));
}

}  // namespace ebb
