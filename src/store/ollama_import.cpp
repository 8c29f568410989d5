#include "store/ollama_import.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "store/blob_writer.h"

namespace ebb::store {

namespace fs = std::filesystem;

namespace {

enum class Placed { Present, Linked, Copied };

Placed place_blob(const Store& from, const StoreWriter& to, const Layer& l, const Progress& progress) {
  const fs::path src = *from.blob_path(l.digest);  // Manifest::parse checked the digest
  const fs::path dst = *to.store().blob_path(l.digest);
  if (BlobWriter::present(to.store().blobs_dir(), l.digest)) return Placed::Present;
  std::error_code ec;
  fs::create_directories(dst.parent_path(), ec);
  // link() makes the final name in one step: no half-written file can be seen under it.
  if (::link(src.c_str(), dst.c_str()) == 0) return Placed::Linked;
  if (errno == EEXIST) return Placed::Present;
  if (errno == ENOENT) throw std::runtime_error("its blob " + l.digest + " is missing");
  // Another filesystem (EXDEV) or no links there: copy, hashing as it goes.
  std::ifstream in(src, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + src.string());
  BlobWriter w(to.store().blobs_dir(), l.digest, /*resume=*/true);
  try {
    in.seekg(static_cast<std::streamoff>(w.size()));  // after what an interrupted import wrote
    std::vector<char> buf(4 << 20);
    const std::string status = "copying " + l.digest;
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      if (in.gcount() <= 0) break;
      w.write(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
      progress(
          {{"status", status}, {"digest", l.digest}, {"total", l.size}, {"completed", static_cast<int64_t>(w.size())}});
    }
    if (in.bad()) throw std::runtime_error("cannot read " + src.string());
    w.commit();
  } catch (const BlobDigestMismatch& e) {
    throw std::runtime_error("its blob " + l.digest + " is corrupt (its bytes hash to " + e.got + ")");
  }
  return Placed::Copied;
}

}  // namespace

ImportResult import_store(const fs::path& from_root, const StoreWriter& to, const Progress& progress) {
  to.check_writable("import models");
  const Store from(from_root);
  std::error_code ec;
  if (!fs::is_directory(from.manifests_dir(), ec))
    throw std::runtime_error(from_root.string() + " is not an Ollama models directory (it has no manifests/)");
  ImportResult result;
  auto models = from.list();
  std::sort(models.begin(), models.end(),  // a stable order for the progress and the result
            [](const StoredModel& a, const StoredModel& b) { return a.name.display() < b.name.display(); });
  for (const auto& m : models) {
    const std::string name = m.name.display();
    if (!m.manifest) {
      result.skipped.push_back(name + ": " + m.error);
      continue;
    }
    if (to.store().find(m.name)) {
      result.skipped.push_back(name + ": already present");
      continue;
    }
    progress({{"status", "importing " + name}});
    try {
      std::vector<Layer> all = {m.manifest->config};
      all.insert(all.end(), m.manifest->layers.begin(), m.manifest->layers.end());
      for (const auto& l : all) {
        switch (place_blob(from, to, l, progress)) {
          case Placed::Present: ++result.blobs_present; break;
          case Placed::Linked: ++result.blobs_linked; break;
          case Placed::Copied: ++result.blobs_copied; break;
        }
      }
      to.check_writable("import models");
      to.store().write_manifest(m.name, read_manifest_file(m.manifest_file));  // the same bytes, the same digest
      result.imported.push_back(name);
    } catch (const ReadOnlyStoreError&) {
      throw;
    } catch (const std::runtime_error& e) {
      result.skipped.push_back(name + ": " + e.what());
    }
  }
  progress({{"status", "success"}});
  return result;
}

}  // namespace ebb::store
