#pragma once
// Model names → GGUF files and per-model settings. Files come from the models directory
// (name = file name without .gguf) and from [[model]] entries of the config. Headers are read
// with ebb's own bounds-checked reader; a bad file is kept with its error, so a request for it
// gets a clear 500 while /api/tags leaves it out.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/gguf_reader.h"

namespace ebb::supervisor {

struct ModelEntry {
  std::string name;
  std::string path;
  ModelConfig settings;  // defaults for files found in the models directory
  uint64_t file_size = 0;
  int64_t mtime_ns = 0;
  std::optional<GgufInfo> info;  // set when the header is valid
  std::string error;             // why the file is unusable
  bool from_config = false;
};

class ModelRegistry {
 public:
  explicit ModelRegistry(std::string models_dir) : dir_(std::move(models_dir)) {}

  // Configured models (from TOML); their paths are already absolute.
  void add_configured(ModelEntry e);
  // Rescans the directory; re-reads headers only of files whose size or mtime changed.
  void refresh();
  // Looks a model up by name ("m", "m:latest"); refreshes once when not found.
  std::optional<ModelEntry> find(const std::string& name);
  std::vector<ModelEntry> list();
  const std::string& dir() const { return dir_; }

  // "m:latest" → "m".
  static std::string normalize(const std::string& name);

 private:
  void refresh_locked();
  static void read_header(ModelEntry& e);

  std::string dir_;
  std::mutex mu_;
  std::map<std::string, ModelEntry> entries_;
};

}  // namespace ebb::supervisor
