#include "supervisor/model_registry.h"

#include <sys/stat.h>

#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/go_template.h"

namespace ebb::supervisor {

namespace fs = std::filesystem;

std::string ModelRegistry::normalize(const std::string& name) {
  const std::string suffix = ":latest";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return name.substr(0, name.size() - suffix.size());
  return name;
}

bool changed_on_disk(const ModelEntry& e) {
  struct stat st {};
  if (::stat(e.path.c_str(), &st) != 0) return e.info.has_value() || e.file_size != 0;
  const int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return e.file_size != static_cast<uint64_t>(st.st_size) || e.mtime_ns != mtime;
}

void ModelRegistry::read_header(ModelEntry& e) {
  struct stat st {};
  if (::stat(e.path.c_str(), &st) != 0) {
    e.info.reset();
    e.error = "its file " + e.path + " is missing (deleted or moved)";
    e.file_size = 0;
    e.mtime_ns = 0;
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
    spdlog::warn("model '{}' cannot be served: {}", e.name, e.error);
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
  refresh_store_locked(seen);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.from_config && !seen.count(it->first))
      it = entries_.erase(it);
    else
      ++it;
  }
}

void ModelRegistry::refresh_store_locked(std::map<std::string, bool>& seen) {
  for (store::StoredModel& m : store_.list()) {
    const std::string name = normalize(m.name.display());
    if (seen.count(name)) continue;  // a configured model or a loose file of that name
    seen[name] = true;
    auto it = entries_.find(name);
    if (it != entries_.end() && it->second.from_config) continue;
    const std::string digest = m.manifest ? m.manifest->digest : "";
    if (it != entries_.end() && it->second.stored && it->second.error.empty() && it->second.stored->digest == digest &&
        it->second.stored->modified_ns == m.modified_ns && it->second.path == m.model_blob.string())
      continue;
    ModelEntry e;
    e.name = name;
    e.path = m.model_blob.string();
    StoredModelInfo& s = e.stored.emplace();
    s.full_name = m.name.full();
    s.digest = digest;
    s.size = m.manifest ? m.manifest->size() : 0;
    s.modified_ns = m.modified_ns;
    e.mtime_ns = m.modified_ns;
    if (m.error.empty()) {
      try {
        s.layers = store::read_model_layers(store_, *m.manifest);
        if (s.layers.has_template) {
          try {
            GoTemplate t(s.layers.template_text);
            s.template_renders = true;
          } catch (const TemplateError& ex) {
            // Ollama's library templates (tools, functions) are beyond the subset: the GGUF's own
            // chat template serves instead, with tools and thinking.
            spdlog::debug("model '{}': its template layer is not rendered by ebb ({}); using the GGUF's", name,
                          ex.what());
          }
        }
      } catch (const std::exception& ex) {
        m.error = ex.what();
      }
    }
    if (m.error.empty()) {
      read_header(e);
    } else {
      e.error = m.error;
      spdlog::warn("stored model '{}' cannot be served: {}", name, e.error);
    }
    entries_[name] = std::move(e);
  }
}

std::optional<ModelEntry> ModelRegistry::find(const std::string& raw) {
  std::string name = normalize(raw);
  std::lock_guard lk(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    refresh_locked();
    it = entries_.find(name);
  } else if ((it->second.info || !it->second.stored) && changed_on_disk(it->second)) {
    // A stored model that cannot serve (a projector layer) stays so until a refresh: reading its
    // blob's header again would not see its manifest. A loose or configured file is validated again.
    spdlog::info("model '{}': its file {} changed on disk; reading it again", name, it->second.path);
    read_header(it->second);
  }
  if (it == entries_.end()) {
    // A stored model by any spelling of its name: full, with its default parts, in another case.
    const store::ModelName wanted = store::ModelName::parse(raw);
    if (!wanted.valid()) return std::nullopt;
    for (const auto& [n, e] : entries_)
      if (e.stored && store::ModelName::parse(e.stored->full_name).same_as(wanted)) return e;
    return std::nullopt;
  }
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
