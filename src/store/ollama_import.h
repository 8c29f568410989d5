#pragma once
// `ebb import`: every model of an Ollama store (~/.ollama/models) into ebb's. Blobs are hardlinked
// when both stores are on one filesystem (no second copy of gigabytes), else copied through
// BlobWriter and verified; blobs already present are skipped; each manifest is written after all
// of its blobs, so an interrupted import leaves only whole models.
#include <filesystem>
#include <string>
#include <vector>

#include "store/create.h"
#include "store/store_writer.h"

namespace ebb::store {

struct ImportResult {
  std::vector<std::string> imported;  // display names
  std::vector<std::string> skipped;   // "name: why" (already present, missing blob, bad manifest)
  int blobs_linked = 0, blobs_copied = 0, blobs_present = 0;
};

// Progress: {"status":"importing <name>"}, {"status":"copying sha256:…","digest":…,"total":…,
// "completed":…} for a copied blob, {"status":"success"}. A model already in `to` is skipped, not
// overwritten. Throws ReadOnlyStoreError, or std::runtime_error when `from_root` is no store.
ImportResult import_store(const std::filesystem::path& from_root, const StoreWriter& to, const Progress& progress);

}  // namespace ebb::store
