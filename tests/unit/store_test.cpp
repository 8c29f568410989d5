// Reading a models directory in Ollama's layout: what serves, what is listed with its reason,
// what is not a model at all.
#include <gtest/gtest.h>

#include <fstream>

#include "../common/scratch_dir.h"
#include "common/model_details.h"
#include "store/store.h"

namespace ebb::store {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string layer(std::string_view type, const std::string& bytes) {
  return R"({"mediaType":")" + std::string(type) + R"(","digest":"sha256:)" + sha256_hex(bytes) + R"(","size":)" +
         std::to_string(bytes.size()) + "}";
}

// A store with blobs for `layers` (type, bytes) and a manifest naming them at `name`.
std::string add_model(const fs::path& root, const std::string& name,
                      const std::vector<std::pair<std::string_view, std::string>>& layers, bool write_blobs = true) {
  const std::string config = R"({"model_format":"gguf"})";
  std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":)" +
                  layer(media::kConfig, config) + R"(,"layers":[)";
  for (size_t i = 0; i < layers.size(); ++i) {
    m += (i ? "," : "") + layer(layers[i].first, layers[i].second);
    if (write_blobs) write(root / "blobs" / ("sha256-" + sha256_hex(layers[i].second)), layers[i].second);
  }
  m += "]}";
  write(root / "blobs" / ("sha256-" + sha256_hex(config)), config);
  write(root / "manifests" / ModelName::parse(name).manifest_path(), m);
  return m;
}

TEST(Store, ListsModelsWithTheirBlobsAndReasons) {
  const fs::path root = ebb::test::scratch_dir("ebb-store");
  const std::string manifest =
      add_model(root, "llama3.2", {{media::kModel, "GGUF-bytes"}, {media::kTemplate, "{{ .Prompt }}"}});
  add_model(root, "me/nomodel:v1", {{media::kTemplate, "t"}});
  add_model(root, "localhost:5000/me/vision:latest", {{media::kModel, "gguf2"}, {media::kProjector, "proj"}});
  add_model(root, "me/lost:v1", {{media::kModel, "never written"}}, /*write_blobs=*/false);
  write(root / "manifests/registry.ollama.ai/library/broken/latest", "{not json");
  write(root / "manifests/registry.ollama.ai/library/llama3.2/.latest-tmp", "partial");  // not a name
  write(root / "manifests/registry.ollama.ai/library/stray", "too shallow");

  Store store(root);
  std::map<std::string, StoredModel> by_name;
  for (auto& m : store.list()) by_name.emplace(m.name.display(), m);
  ASSERT_EQ(by_name.size(), 5u);

  const StoredModel& ok = by_name.at("llama3.2:latest");
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.model_blob, root / "blobs" / ("sha256-" + sha256_hex("GGUF-bytes")));
  ASSERT_TRUE(ok.manifest);
  EXPECT_EQ(ok.manifest->digest, sha256_hex(manifest));
  EXPECT_GT(ok.modified_ns, 0);

  EXPECT_EQ(by_name.at("me/nomodel:v1").error, "its manifest has no model layer");
  EXPECT_NE(by_name.at("localhost:5000/me/vision:latest").error.find("application/vnd.ollama.image.projector"),
            std::string::npos);
  EXPECT_NE(by_name.at("me/lost:v1").error.find("its model blob is missing"), std::string::npos);
  EXPECT_NE(by_name.at("broken:latest").error.find("invalid manifest: not JSON"), std::string::npos);
  EXPECT_FALSE(by_name.at("broken:latest").manifest);
}

TEST(Store, FindsANameWithOllamasDefaultsAndWithoutCase) {
  const fs::path root = ebb::test::scratch_dir("ebb-store");
  add_model(root, "Qwen2.5:0.5B", {{media::kModel, "q"}});
  Store store(root);
  auto m = store.find(ModelName::parse("qwen2.5:0.5b"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->error, "");
  EXPECT_EQ(m->name.display(), "Qwen2.5:0.5B");  // as stored
  EXPECT_FALSE(store.find(ModelName::parse("qwen2.5")));
  EXPECT_FALSE(store.find(ModelName::parse("../../etc:passwd")));
  EXPECT_TRUE(Store(root / "nothing-here").list().empty());
}

TEST(Store, BlobPathsStayInBlobs) {
  Store store("/s");
  EXPECT_EQ(store.blob_path("sha256:" + std::string(64, 'a')), fs::path("/s/blobs/sha256-" + std::string(64, 'a')));
  EXPECT_FALSE(store.blob_path("sha256:../../../etc/passwd"));
}

TEST(Store, WritesAManifestInOneStepAndLeavesNoTemporaryFile) {
  const fs::path root = ebb::test::scratch_dir("ebb-store");
  add_model(root, "me/m:v1", {{media::kModel, "gguf"}});
  Store store(root);
  const std::string before = store.find(ModelName::parse("me/m:v1"))->manifest->digest;
  auto copy = *store.find(ModelName::parse("me/m:v1"));
  std::ifstream in(copy.manifest_file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  store.write_manifest(ModelName::parse("me/copy:v2"), bytes);
  store.write_manifest(ModelName::parse("me/m:v1"), bytes + " ");  // replaced in place
  auto copied = store.find(ModelName::parse("me/copy:v2"));
  ASSERT_TRUE(copied);
  EXPECT_EQ(copied->error, "");
  EXPECT_EQ(copied->manifest->digest, before);
  EXPECT_NE(store.find(ModelName::parse("me/m:v1"))->manifest->digest, before);
  EXPECT_EQ(store.list().size(), 2u);
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root / "manifests"))
    if (e.is_regular_file()) ++files;
  EXPECT_EQ(files, 2u);
  EXPECT_THROW(store.write_manifest(ModelName::parse_bare("../x"), bytes), std::invalid_argument);
}

}  // namespace
}  // namespace ebb::store
