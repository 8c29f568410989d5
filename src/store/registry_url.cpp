#include "store/registry_url.h"

#include <cctype>

#include "common/ascii_case.h"

namespace ebb::store {

namespace {}  // namespace

std::optional<Url> parse_url(std::string_view text) {
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  Url u;
  u.scheme = ascii_lower(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") return std::nullopt;
  std::string_view rest = text.substr(sep + 3);
  const auto slash = rest.find_first_of("/?#");
  u.host = std::string(rest.substr(0, slash));
  if (u.host.empty() || u.host.find_first_of(" @\\") != std::string::npos) return std::nullopt;
  std::string_view target = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  u.target = target.empty() || target[0] != '/' ? "/" + std::string(target) : std::string(target);
  return u;
}

std::optional<Url> resolve_location(const Url& base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return parse_url(location);
  if (location.substr(0, 2) == "//") return parse_url(base.scheme + ":" + std::string(location));
  if (location.empty() || location[0] != '/') return std::nullopt;
  Url u = base;
  u.target = std::string(location);
  return u;
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += {'%', hex[c >> 4], hex[c & 15]};
    }
  }
  return out;
}

std::string append_query(std::string target, std::string_view key, std::string_view value) {
  target += target.find('?') == std::string::npos ? '?' : '&';
  return target + url_encode(key) + "=" + url_encode(value);
}

Url registry_origin(const ModelName& name, bool insecure) {
  return Url{insecure || name.scheme == "http" ? "http" : "https", name.host, "/"};
}

static std::string repo_prefix(const ModelName& name) { return "/v2/" + name.ns + "/" + name.model; }

std::string manifest_target(const ModelName& name) { return repo_prefix(name) + "/manifests/" + name.tag; }

std::string blob_target(const ModelName& name, std::string_view digest) {
  return repo_prefix(name) + "/blobs/" + std::string(digest);
}

std::string upload_target(const ModelName& name) { return repo_prefix(name) + "/blobs/uploads/"; }

}  // namespace ebb::store
