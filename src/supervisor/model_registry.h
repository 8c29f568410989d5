#pragma once
// Model names → GGUF files and per-model settings. Models come from [[model]] entries of the
// config, loose NAME.gguf files in the models directory, and the store in Ollama's layout under
// it (manifests/, blobs/: `model:tag` names, with their template, system, params, messages and
// license layers); a name found in several places is the config's, then the loose file's.
// Headers are read and validated with ebb's own bounds-checked reader (common/gguf_reader.h); a
// model whose file fails, or a stored model that cannot be served, is kept with its error:
// /api/tags lists it with the reason, and its requests get a 500 that gives it.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/gguf_reader.h"
#include "store/model_layers.h"
#include "store/store.h"

namespace ebb::supervisor {

// A model from the store: its manifest and what its layers add.
struct StoredModelInfo {
  std::string full_name;    // registry.ollama.ai/library/m:latest
  std::string digest;       // the manifest's SHA-256 (hex), as /api/tags shows it
  int64_t size = 0;         // the manifest's layers and config, in bytes
  int64_t modified_ns = 0;  // the manifest's mtime
  store::ModelLayers layers;
  bool template_renders = false;  // the template layer is within ebb's Go-template subset
};

struct ModelEntry {
  std::string name;
  std::string path;
  ModelConfig settings;  // defaults for files found in the models directory
  uint64_t file_size = 0;
  int64_t mtime_ns = 0;
  std::optional<GgufInfo> info;  // set when the header is valid
  std::string error;             // why the file is unusable
  bool from_config = false;
  std::optional<StoredModelInfo> stored;  // set for a model from the store
};

// The same file as far as size and mtime tell: what a model's runner, host-tier pages and KV
// snapshots were made from.
inline bool same_file(const ModelEntry& a, const ModelEntry& b) {
  return a.path == b.path && a.file_size == b.file_size && a.mtime_ns == b.mtime_ns;
}

// Whether the file at e.path is no longer the one `e` describes (another size or mtime, or gone).
bool changed_on_disk(const ModelEntry& e);

class ModelRegistry {
 public:
  explicit ModelRegistry(std::string models_dir) : dir_(std::move(models_dir)), store_(dir_) {}

  // Configured models (from TOML); their paths are already absolute.
  void add_configured(ModelEntry e);
  // Rescans the directory; re-reads headers only of files whose size or mtime changed.
  void refresh();
  // Looks a model up by name ("m", "m:latest"); refreshes once when not found. A model's file is
  // checked by size and mtime: a changed one has its header read (and validated) again, a deleted
  // one becomes unusable, saying so. A stored model that cannot serve stays so until a refresh.
  std::optional<ModelEntry> find(const std::string& name);
  std::vector<ModelEntry> list();
  const std::string& dir() const { return dir_; }
  const store::Store& store() const { return store_; }

  // "m:latest" → "m"; a stored model's name as `ollama list` shows it, without ":latest".
  static std::string normalize(const std::string& name);

 private:
  void refresh_locked();
  void refresh_store_locked(std::map<std::string, bool>& seen);
  static void read_header(ModelEntry& e);

  std::string dir_;
  store::Store store_;
  std::mutex mu_;
  std::map<std::string, ModelEntry> entries_;
};

}  // namespace ebb::supervisor
