#include "api/cors.h"

#include <algorithm>
#include <cctype>

namespace ebb::api {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

}  // namespace

std::vector<std::string> default_origins() {
  std::vector<std::string> out;
  for (const char* host : {"localhost", "127.0.0.1", "0.0.0.0"}) {
    for (const char* scheme : {"http", "https"}) {
      out.push_back(std::string(scheme) + "://" + host);
      out.push_back(std::string(scheme) + "://" + host + ":*");
    }
  }
  for (const char* scheme : {"app", "file", "tauri", "vscode-webview", "vscode-file"})
    out.push_back(std::string(scheme) + "://*");
  return out;
}

std::vector<std::string> allowed_origins(const std::vector<std::string>& extra) {
  std::vector<std::string> out = extra;
  const std::vector<std::string> defaults = default_origins();
  out.insert(out.end(), defaults.begin(), defaults.end());
  return out;
}

bool origin_matches(std::string_view pattern, std::string_view origin) {
  if (pattern == "*") return true;
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return iequal(pattern, origin);
  const std::string_view prefix = pattern.substr(0, star), suffix = pattern.substr(star + 1);
  return origin.size() >= prefix.size() + suffix.size() && iequal(origin.substr(0, prefix.size()), prefix) &&
         iequal(origin.substr(origin.size() - suffix.size()), suffix);
}

bool origin_allowed(const std::vector<std::string>& patterns, std::string_view origin) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return origin_matches(p, origin); });
}

}  // namespace ebb::api
