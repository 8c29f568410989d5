// `ebb import`: an Ollama store's models into ebb's, blobs hardlinked on one filesystem (the same
// inode), copied and verified across filesystems, manifests byte for byte.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "../common/file_bytes.h"
#include "../common/scratch_dir.h"
#include "common/model_details.h"
#include "store/ollama_import.h"

namespace ebb::store {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

ino_t inode(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

void add(const StoreWriter& w, const std::string& name,
         const std::vector<std::pair<std::string_view, std::string>>& layers) {
  std::vector<Layer> ls;
  for (const auto& [type, bytes] : layers) ls.push_back(w.write_blob(bytes, type).layer);
  w.write_manifest(ModelName::parse(name), w.write_blob("{}", media::kConfig).layer, ls);
}

fs::path blob(const fs::path& root, const std::string& bytes) {
  return root / "blobs" / ("sha256-" + sha256_hex(bytes));
}

// An Ollama store: two models sharing a model blob, one with a blob missing.
fs::path ollama_store(const fs::path& root) {
  StoreWriter w(Store(root), false);
  add(w, "llama3.2", {{media::kModel, "shared gguf"}, {media::kTemplate, "T"}});
  add(w, "me/tuned:v1", {{media::kModel, "shared gguf"}, {media::kSystem, "S"}});
  add(w, "me/lost:v1", {{media::kModel, "lost gguf"}});
  fs::remove(blob(root, "lost gguf"));
  return root;
}

TEST(OllamaImport, HardlinksBlobsAndCopiesManifests) {
  const fs::path from = ollama_store(ebb::test::scratch_dir("ebb-ollama"));
  const fs::path to = ebb::test::scratch_dir("ebb-import");
  StoreWriter w(Store(to), false);
  add(w, "mine", {{media::kModel, "mine gguf"}, {media::kTemplate, "T"}});  // "T" is there already
  std::vector<json> events;
  const ImportResult r = import_store(from, w, [&](const json& j) { events.push_back(j); });

  EXPECT_EQ(r.imported, (std::vector<std::string>{"llama3.2:latest", "me/tuned:v1"}));
  ASSERT_EQ(r.skipped.size(), 1u);
  EXPECT_EQ(r.skipped[0], "me/lost:v1: its blob sha256:" + sha256_hex("lost gguf") + " is missing");
  // config "{}" and "T" were there; the shared model blob is linked once, then present; the lost
  // model got as far as its config.
  EXPECT_EQ(r.blobs_linked, 2);  // "shared gguf", "S"
  EXPECT_EQ(r.blobs_copied, 0);
  EXPECT_EQ(r.blobs_present, 5);
  EXPECT_EQ(inode(blob(to, "shared gguf")), inode(blob(from, "shared gguf")));
  EXPECT_EQ(inode(blob(to, "S")), inode(blob(from, "S")));
  EXPECT_NE(inode(blob(to, "T")), inode(blob(from, "T")));  // kept, not replaced
  for (const char* name : {"llama3.2", "me/tuned:v1"}) {
    const auto a = Store(from).find(ModelName::parse(name));
    const auto b = w.store().find(ModelName::parse(name));
    ASSERT_TRUE(a && b) << name;
    EXPECT_EQ(test::file_bytes(b->manifest_file), test::file_bytes(a->manifest_file));
    EXPECT_EQ(b->error, "");
  }
  EXPECT_FALSE(w.store().find(ModelName::parse("me/lost:v1")));
  EXPECT_TRUE(w.store().find(ModelName::parse("mine")));
  EXPECT_EQ(events.front(), (json{{"status", "importing llama3.2:latest"}}));
  EXPECT_EQ(events.back(), (json{{"status", "success"}}));

  // Again: nothing to do, nothing overwritten.
  const ImportResult again = import_store(from, w, [](const json&) {});
  EXPECT_TRUE(again.imported.empty());
  EXPECT_EQ(again.skipped.size(), 3u);
  EXPECT_EQ(again.skipped[0], "llama3.2:latest: already present");
}

TEST(OllamaImport, CopiesAndVerifiesAcrossFilesystems) {
  const fs::path from = ollama_store(ebb::test::scratch_dir("ebb-ollama"));
  struct stat a {
  }, b{};
  if (::stat("/dev/shm", &b) != 0 || ::stat(from.c_str(), &a) != 0 || a.st_dev == b.st_dev)
    GTEST_SKIP() << "no second filesystem at /dev/shm";
  char tmpl[] = "/dev/shm/ebb-import-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  const fs::path to = tmpl;
  // The copy's corruption check: a blob whose bytes no longer match its name.
  std::ofstream(blob(from, "S"), std::ios::trunc) << "bit rot";
  StoreWriter w(Store(to), false);
  std::vector<json> events;
  const ImportResult r = import_store(from, w, [&](const json& j) { events.push_back(j); });
  EXPECT_EQ(r.imported, (std::vector<std::string>{"llama3.2:latest"}));
  ASSERT_EQ(r.skipped.size(), 2u);
  EXPECT_NE(r.skipped[1].find("me/tuned:v1: its blob sha256:" + sha256_hex("S") + " is corrupt"), std::string::npos)
      << r.skipped[1];
  EXPECT_EQ(r.blobs_linked, 0);
  EXPECT_GE(r.blobs_copied, 3);
  EXPECT_EQ(test::file_bytes(blob(to, "shared gguf")), "shared gguf");
  EXPECT_NE(inode(blob(to, "shared gguf")), 0u);
  EXPECT_FALSE(fs::exists(blob(to, "S")));
  EXPECT_FALSE(fs::exists(to / "blobs" / ("sha256-" + sha256_hex("S") + "-partial")));
  EXPECT_FALSE(w.store().find(ModelName::parse("me/tuned:v1")));
  const json copying = {{"status", "copying sha256:" + sha256_hex("shared gguf")},
                        {"digest", "sha256:" + sha256_hex("shared gguf")},
                        {"total", 11},
                        {"completed", 11}};
  EXPECT_NE(std::find(events.begin(), events.end(), copying), events.end());
  fs::remove_all(to);
}

TEST(OllamaImport, RefusesAReadOnlyStoreAndANonStore) {
  const fs::path from = ollama_store(ebb::test::scratch_dir("ebb-ollama"));
  const fs::path to = ebb::test::scratch_dir("ebb-import");
  EXPECT_THROW(import_store(from, StoreWriter(Store(to), true), [](const json&) {}), ReadOnlyStoreError);
  EXPECT_FALSE(fs::exists(to / "manifests"));
  EXPECT_FALSE(fs::exists(to / "blobs"));
  try {
    import_store(to / "nothing", StoreWriter(Store(to), false), [](const json&) {});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is not an Ollama models directory"), std::string::npos);
  }
}

}  // namespace
}  // namespace ebb::store
