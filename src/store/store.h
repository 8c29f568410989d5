#pragma once
// A models directory in Ollama's layout, read: manifests/<host>/<namespace>/<model>/<tag> and
// blobs/sha256-<hex>. `ebb serve --models ~/.ollama/models` serves an Ollama store as it is.
// Reading never writes; what cannot be read is listed with its reason, not skipped silently.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "store/manifest.h"
#include "store/model_name.h"

namespace ebb::store {

struct StoredModel {
  ModelName name;
  std::filesystem::path manifest_file;
  int64_t modified_ns = 0;           // the manifest file's mtime (Ollama's modified_at)
  std::optional<Manifest> manifest;  // unset when the file does not parse
  std::filesystem::path model_blob;  // the GGUF (the model layer's blob), when there is one
  std::string error;                 // why it cannot be served; empty when it can
};

// The bytes of a manifest file, at most a manifest's size (4 MiB). Throws std::runtime_error.
std::string read_manifest_file(const std::filesystem::path& file);

class Store {
 public:
  explicit Store(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path manifests_dir() const { return root_ / "manifests"; }
  std::filesystem::path blobs_dir() const { return root_ / "blobs"; }

  // Every file four levels under manifests/ (Ollama's Manifests()): a path that is no valid name
  // is ignored, as Ollama does; a manifest that does not parse or lacks what serving needs is
  // listed with its error.
  std::vector<StoredModel> list() const;
  // The model a name (parsed with Ollama's defaults) names; nullopt when there is no manifest.
  std::optional<StoredModel> find(const ModelName& name) const;
  // blobs/sha256-<hex> for a digest; nullopt for a malformed digest.
  std::optional<std::filesystem::path> blob_path(std::string_view digest) const;

  // Writes a manifest for a valid name atomically: its bytes go to a temporary file beside it,
  // are synced, and renamed over the old one, so a reader sees the old manifest or the new one.
  // The blobs it names must be in place first. Throws std::runtime_error (a full disk says so).
  void write_manifest(const ModelName& name, std::string_view bytes) const;

 private:
  StoredModel read(const ModelName& name, const std::filesystem::path& file) const;

  std::filesystem::path root_;
};

}  // namespace ebb::store
