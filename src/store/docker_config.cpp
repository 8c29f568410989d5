#include "store/docker_config.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/ascii_case.h"

namespace ebb::store {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// "https://Host:5000/v1/" -> "host:5000".
std::string key_host(std::string_view key) {
  if (auto p = key.find("://"); p != std::string_view::npos) key.remove_prefix(p + 3);
  return ascii_lower(key.substr(0, key.find('/')));
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const auto pos = kAlphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6) return std::nullopt;  // one stray character
  return out;
}

fs::path docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) return fs::path(dir) / "config.json";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/") / ".docker" / "config.json";
}

std::optional<Credentials> docker_credentials(const nlohmann::json& config, std::string_view host) {
  if (!config.is_object()) return std::nullopt;
  auto auths = config.find("auths");
  if (auths == config.end() || !auths->is_object()) return std::nullopt;
  const std::string want = ascii_lower(host);
  for (const auto& [key, entry] : auths->items()) {
    if (key_host(key) != want || !entry.is_object()) continue;
    if (auto a = entry.find("auth"); a != entry.end() && a->is_string() && !a->get<std::string>().empty()) {
      auto decoded = base64_decode(a->get<std::string>());
      if (!decoded) continue;
      const auto colon = decoded->find(':');
      if (colon == std::string::npos) continue;
      return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
    }
    auto u = entry.find("username"), p = entry.find("password");
    if (u != entry.end() && p != entry.end() && u->is_string() && p->is_string())
      return Credentials{u->get<std::string>(), p->get<std::string>()};
  }
  return std::nullopt;
}

std::optional<Credentials> docker_credentials(std::string_view host) {
  std::ifstream in(docker_config_path());
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  auto config = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) return std::nullopt;
  return docker_credentials(config, host);
}

}  // namespace ebb::store
