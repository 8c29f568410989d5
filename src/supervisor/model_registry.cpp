#include "supervisor/model_registry.h"

#include <sys/stat.h>

#include <filesystem>

#include <spdlog/spdlog.h>

namespace ebb::supervisor {

namespace fs = std::filesystem;

std::string ModelRegistry::normalize(const std::string& name) {
  const std::string suffix = ":latest";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return name.substr(0, name.size() - suffix.size());
  return name;
}

void ModelRegistry::read_header(ModelEntry& e) {
  struct stat st {};
  if (::stat(e.path.c_str(), &st) != 0) {
    e.info.reset();
    e.error = "file not found: " + e.path;
    return;
  }
  e.file_size = static_cast<uint64_t>(st.st_size);
  e.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  try {
    e.info = read_gguf_header(e.path);
    e.error.clear();
  } catch (const std::exception& ex) {
    e.info.reset();
    e.error = ex.what();
    spdlog::warn("model '{}' is unusable and left out of /api/tags: {}", e.name, e.error);
  }
}

void ModelRegistry::add_configured(ModelEntry e) {
  std::lock_guard lk(mu_);
  e.from_config = true;
  read_header(e);
  entries_[e.name] = std::move(e);
}

void ModelRegistry::refresh() {
  std::lock_guard lk(mu_);
  refresh_locked();
}

void ModelRegistry::refresh_locked() {
  std::map<std::string, bool> seen;
  std::error_code ec;
  if (!dir_.empty() && fs::is_directory(dir_, ec)) {
    for (const auto& de : fs::directory_iterator(dir_, ec)) {
      if (de.path().extension() != ".gguf") continue;
      std::string name = de.path().stem().string();
      seen[name] = true;
      auto it = entries_.find(name);
      if (it != entries_.end() && it->second.from_config) continue;
      struct stat st {};
      if (::stat(de.path().c_str(), &st) != 0) continue;
      int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      if (it != entries_.end() && it->second.file_size == static_cast<uint64_t>(st.st_size) &&
          it->second.mtime_ns == mtime)
        continue;
      ModelEntry e;
      e.name = name;
      e.path = fs::absolute(de.path()).string();
      read_header(e);
      entries_[name] = std::move(e);
    }
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.from_config && !seen.count(it->first))
      it = entries_.erase(it);
    else
      ++it;
  }
}

std::optional<ModelEntry> ModelRegistry::find(const std::string& raw) {
  std::string name = normalize(raw);
  std::lock_guard lk(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    refresh_locked();
    it = entries_.find(name);
  }
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::vector<ModelEntry> ModelRegistry::list() {
  std::lock_guard lk(mu_);
  refresh_locked();
  std::vector<ModelEntry> out;
  for (const auto& [n, e] : entries_) out.push_back(e);
  return out;
}

}  // namespace ebb::supervisor
