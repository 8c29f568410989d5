#pragma once
// An Ollama manifest (schemaVersion 2, Docker's distribution manifest shape): a config blob and
// layers, each named by its sha256 digest, stored as blobs/sha256-<hex> beside manifests/.
// Parsing checks every field a store read depends on, so a bad file is one clear error.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ebb::store {

// The layer media types Ollama writes.
namespace media {
inline constexpr std::string_view kManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kModel = "application/vnd.ollama.image.model";
inline constexpr std::string_view kTemplate = "application/vnd.ollama.image.template";
inline constexpr std::string_view kSystem = "application/vnd.ollama.image.system";
inline constexpr std::string_view kParams = "application/vnd.ollama.image.params";
inline constexpr std::string_view kLicense = "application/vnd.ollama.image.license";
inline constexpr std::string_view kMessages = "application/vnd.ollama.image.messages";
inline constexpr std::string_view kProjector = "application/vnd.ollama.image.projector";
inline constexpr std::string_view kAdapter = "application/vnd.ollama.image.adapter";
}  // namespace media

struct Layer {
  std::string media_type;
  std::string digest;  // "sha256:<64 hex>"
  int64_t size = 0;
  std::string from;  // where the layer came from (Ollama keeps it; informational)
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;
  Layer config;
  std::vector<Layer> layers;
  std::string digest;  // 64 hex digits: SHA-256 of the manifest's bytes, as /api/tags shows it

  // Throws std::invalid_argument saying what is wrong.
  static Manifest parse(std::string_view bytes);
  // Config plus layers, as Ollama's Size().
  int64_t size() const;
  // The first layer of this media type.
  const Layer* layer(std::string_view media_type) const;
  // Every layer of this media type (Ollama keeps several license layers, for one).
  std::vector<const Layer*> layers_of(std::string_view media_type) const;
};

// "sha256:<hex>" or "sha256-<hex>" (64 hex digits, either case) as the blob's file name,
// "sha256-<hex>"; nullopt for anything else, so no digest names a path outside blobs/.
std::optional<std::string> blob_file_name(std::string_view digest);

}  // namespace ebb::store
