#include "store/manifest.h"

#include <cctype>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/model_details.h"

namespace ebb::store {

namespace {

using json = nlohmann::json;

[[noreturn]] void bad(const std::string& why) { throw std::invalid_argument("invalid manifest: " + why); }

Layer layer_of(const json& j, const std::string& where) {
  if (!j.is_object()) bad(where + " is not an object");
  Layer l;
  const auto text = [&](const char* key, bool required) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) bad(where + " has no '" + key + "'");
      return std::string();
    }
    if (!it->is_string()) bad(where + " '" + key + "' is not a string");
    return it->get<std::string>();
  };
  l.media_type = text("mediaType", true);
  l.digest = text("digest", true);
  l.from = text("from", false);
  if (!blob_file_name(l.digest)) bad(where + " digest '" + l.digest + "' is not sha256:<64 hex digits>");
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
    bad(where + " has no size (a non-negative integer)");
  l.size = size->get<int64_t>();
  return l;
}

}  // namespace

Manifest Manifest::parse(std::string_view bytes) {
  const json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) bad("not JSON");
  if (!j.is_object()) bad("not a JSON object");
  Manifest m;
  auto version = j.find("schemaVersion");
  if (version == j.end() || !version->is_number_integer() || version->get<int>() != 2) bad("schemaVersion is not 2");
  m.media_type = j.value("mediaType", "");
  if (!j.contains("config")) bad("no config");
  m.config = layer_of(j["config"], "config");
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) bad("no layers array");
  for (size_t i = 0; i < layers->size(); ++i) m.layers.push_back(layer_of((*layers)[i], "layer " + std::to_string(i)));
  m.digest = sha256_hex(std::string(bytes));
  return m;
}

int64_t Manifest::size() const {
  int64_t total = config.size;
  for (const auto& l : layers) total += l.size;
  return total;
}

const Layer* Manifest::layer(std::string_view type) const {
  for (const auto& l : layers)
    if (l.media_type == type) return &l;
  return nullptr;
}

std::vector<const Layer*> Manifest::layers_of(std::string_view type) const {
  std::vector<const Layer*> out;
  for (const auto& l : layers)
    if (l.media_type == type) out.push_back(&l);
  return out;
}

std::optional<std::string> blob_file_name(std::string_view digest) {
  if (digest.size() != 71 || digest.substr(0, 6) != "sha256" || (digest[6] != ':' && digest[6] != '-'))
    return std::nullopt;
  for (char c : digest.substr(7))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return "sha256-" + std::string(digest.substr(7));
}

}  // namespace ebb::store
