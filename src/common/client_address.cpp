#include "common/client_address.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>

namespace ebb {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

uint16_t parse_port(std::string_view text, std::string_view whole) {
  if (!all_digits(text) || text.size() > 5 || std::stoul(std::string(text)) > 65535)
    throw std::invalid_argument(fmt::format("'{}': bad port '{}'", whole, text));
  return static_cast<uint16_t>(std::stoul(std::string(text)));
}

// Go's net.SplitHostPort: "host:port", "[v6]:port", ":port". False when there is no port.
bool split_host_port(std::string_view hp, std::string_view& host, std::string_view& port) {
  if (!hp.empty() && hp.front() == '[') {
    const size_t close = hp.find(']');
    if (close == std::string_view::npos || close + 1 >= hp.size() || hp[close + 1] != ':') return false;
    host = hp.substr(1, close - 1);
    port = hp.substr(close + 2);
    return true;
  }
  const size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos || hp.find(':') != colon) return false;  // none, or a bare IPv6
  host = hp.substr(0, colon);
  port = hp.substr(colon + 1);
  return true;
}

}  // namespace

std::string ClientAddress::host_port() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string ClientAddress::origin() const { return scheme + "://" + host_port(); }

std::string ClientAddress::to_string() const { return origin() + path; }

ClientAddress parse_client_address(std::string_view text, bool ollama_host) {
  const std::string_view whole = trim(text);
  ClientAddress out;
  std::string_view rest = whole;
  uint16_t default_port = 11434;
  const bool has_scheme = rest.find("://") != std::string_view::npos;
  if (const size_t sep = rest.find("://"); sep != std::string_view::npos) {
    std::string scheme(rest.substr(0, sep));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (scheme == "http" || scheme == "https") {
      if (ollama_host) default_port = scheme == "http" ? 80 : 443;
    } else {
      throw std::invalid_argument(fmt::format("'{}': unsupported scheme '{}' (use http or https)", whole, scheme));
    }
    out.scheme = scheme;
    rest = rest.substr(sep + 3);
  }
  out.port = default_port;
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    out.path = std::string(path);
    rest = rest.substr(0, slash);
  }

  std::string_view host, port;
  if (!has_scheme && all_digits(rest)) {
    out.port = parse_port(rest, whole);  // "8080": a port, as ebb serve --host reads it
  } else if (split_host_port(rest, host, port)) {
    out.port = parse_port(port, whole);
    if (!host.empty()) out.host = std::string(host);
  } else if (!rest.empty()) {
    std::string_view h = rest;
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    if (h.empty()) throw std::invalid_argument(fmt::format("'{}': empty host", whole));
    out.host = std::string(h);
  }
  // Addresses a server binds to but a client cannot connect to.
  if (out.host == "0.0.0.0") out.host = "127.0.0.1";
  if (out.host == "::" || out.host == "0:0:0:0:0:0:0:0") out.host = "::1";
  return out;
}

ClientAddress resolve_client_address(std::string_view flag, const char* ebb_host, const char* ollama_host) {
  const auto set = [](const char* v) { return v && !trim(v).empty(); };
  try {
    if (!trim(flag).empty()) return parse_client_address(flag);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("--host {}", e.what()));
  }
  for (const auto& [name, value] : {std::pair{"EBB_HOST", ebb_host}, std::pair{"OLLAMA_HOST", ollama_host}}) {
    if (!set(value)) continue;
    try {
      return parse_client_address(value, std::string_view(name) == "OLLAMA_HOST");
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("{} {}", name, e.what()));
    }
  }
  return ClientAddress{};
}

ClientAddress client_address_from_env(std::string_view flag) {
  return resolve_client_address(flag, std::getenv("EBB_HOST"), std::getenv("OLLAMA_HOST"));
}

}  // namespace ebb
