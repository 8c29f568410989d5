#include "store/model_name.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "common/ascii_case.h"

namespace ebb::store {

namespace {

constexpr std::string_view kDefaultHost = "registry.ollama.ai";
constexpr std::string_view kDefaultNamespace = "library";
constexpr std::string_view kDefaultTag = "latest";

enum class Part { Host, Namespace, Model, Tag };

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool valid_part(Part kind, std::string_view s) {
  // Ollama allows a 350-byte host; ebb's store makes it a directory, whose name Linux limits to 255.
  const size_t max = kind == Part::Host ? 255 : 80;
  if (s.empty() || s.size() > max || !word_char(s[0])) return false;
  for (char c : s.substr(1)) {
    if (word_char(c) || c == '_' || c == '-') continue;
    if (c == '.' && kind != Part::Namespace) continue;
    if (c == ':' && kind == Part::Host) continue;
    return false;
  }
  return true;
}

// A part the text promised (with its separator) and left empty: never valid, and never
// replaced by a default (Ollama's "!MISSING!").
constexpr std::string_view kMissing = "!MISSING!";

// Cuts `s` at the last `sep`: false when there is none.
bool cut_last(std::string_view& s, char sep, std::string& after) {
  const size_t i = s.rfind(sep);
  if (i == std::string_view::npos) return false;
  after = i + 1 < s.size() ? std::string(s.substr(i + 1)) : std::string(kMissing);
  s = i > 0 ? s.substr(0, i) : kMissing;
  return true;
}

}  // namespace

ModelName ModelName::parse_bare(std::string_view s) {
  ModelName n;
  n.scheme.clear();
  // A ':' after the last '/' starts the tag (one before it belongs to a host's port).
  const size_t colon = s.rfind(':'), slash = s.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) cut_last(s, ':', n.tag);
  if (!cut_last(s, '/', n.model)) {
    n.model = std::string(s);
    return n;
  }
  if (!cut_last(s, '/', n.ns)) {
    n.ns = std::string(s);
    return n;
  }
  if (const size_t i = s.find("://"); i != std::string_view::npos) {
    n.scheme = std::string(s.substr(0, i));
    s = s.substr(i + 3);
  }
  n.host = std::string(s);
  return n;
}

ModelName ModelName::parse(std::string_view text) {
  ModelName n = parse_bare(text);
  // Ollama's Merge: a part the text did not name takes the default.
  if (n.host.empty()) n.host = kDefaultHost;
  if (n.ns.empty()) n.ns = kDefaultNamespace;
  if (n.tag.empty()) n.tag = kDefaultTag;
  if (n.scheme.empty()) n.scheme = "https";
  return n;
}

bool ModelName::valid() const {
  return valid_part(Part::Host, host) && valid_part(Part::Namespace, ns) && valid_part(Part::Model, model) &&
         valid_part(Part::Tag, tag);
}

std::string ModelName::full() const { return host + "/" + ns + "/" + model + ":" + tag; }

std::string ModelName::display() const {
  std::string out;
  if (!ascii_iequal(host, kDefaultHost))
    out = host + "/" + ns + "/";
  else if (!ascii_iequal(ns, kDefaultNamespace))
    out = ns + "/";
  return out + model + ":" + tag;
}

std::filesystem::path ModelName::manifest_path() const {
  if (!valid()) throw std::invalid_argument("invalid model name: " + full());
  return std::filesystem::path(host) / ns / model / tag;
}

bool ModelName::same_as(const ModelName& o) const {
  return ascii_iequal(host, o.host) && ascii_iequal(ns, o.ns) && ascii_iequal(model, o.model) &&
         ascii_iequal(tag, o.tag);
}

}  // namespace ebb::store
