#pragma once
// Model names as Ollama parses them (types/model/name.go): [scheme://][host/][namespace/]model[:tag],
// missing parts taken from registry.ollama.ai/library/…:latest. A valid name's parts hold only
// letters, digits, '_', '-', '.' (not in a namespace) and ':' (only in a host), and start with a
// letter, digit or '_': no part can be "..", empty or hold a '/', so a name's path in the store
// (host/namespace/model/tag) never leaves it. Parts are at most 80 bytes, a host 255 (Ollama's
// 350 would not fit a directory name).
#include <filesystem>
#include <string>
#include <string_view>

namespace ebb::store {

struct ModelName {
  std::string host, ns, model, tag;
  std::string scheme = "https";  // "http" for an insecure registry named with it

  // The parts the text names; the others empty. A part the text promised and left empty ("m:",
  // "/m", "a/:b") holds a marker that is never valid.
  static ModelName parse_bare(std::string_view text);
  // parse_bare with Ollama's defaults for the missing parts.
  static ModelName parse(std::string_view text);

  // Every part present and well formed (Ollama's IsFullyQualified).
  bool valid() const;
  // host/namespace/model:tag.
  std::string full() const;
  // As `ollama list` shows it: the default host and namespace left out ("llama3.2:latest",
  // "me/m:v1", "localhost:5000/me/m:v1").
  std::string display() const;
  // host/namespace/model/tag, relative to the store's manifests directory. Only for a valid name.
  std::filesystem::path manifest_path() const;
  // Names are compared without case, as Ollama does.
  bool same_as(const ModelName& other) const;
};

}  // namespace ebb::store
