// Writes to a models directory: small blobs, uploads, copy and delete with blobs counted across
// manifests, and a read-only store that refuses every one of them.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../common/file_bytes.h"
#include "../common/scratch_dir.h"
#include "common/model_details.h"
#include "store/store_writer.h"

namespace ebb::store {
namespace {

namespace fs = std::filesystem;

fs::path blob_file(const fs::path& root, const std::string& bytes) {
  return root / "blobs" / ("sha256-" + sha256_hex(bytes));
}

// A model of a config and layers made of these bytes.
void add(const StoreWriter& w, const std::string& name,
         const std::vector<std::pair<std::string_view, std::string>>& layers) {
  std::vector<Layer> ls;
  for (const auto& [type, bytes] : layers) ls.push_back(w.write_blob(bytes, type).layer);
  const Layer config = w.write_blob(R"({"model_format":"gguf"})", media::kConfig).layer;
  w.write_manifest(ModelName::parse(name), config, ls);
}

// Chunks of a string, as an HTTP body arrives.
std::function<bool(std::string&)> body(std::string bytes, size_t chunk = 3) {
  auto at = std::make_shared<size_t>(0);
  return [bytes, chunk, at](std::string& out) {
    if (*at >= bytes.size()) return false;
    out = bytes.substr(*at, chunk);
    *at += chunk;
    return true;
  };
}

TEST(StoreWriter, WritesASmallBlobOnceByItsDigest) {
  const fs::path root = ebb::test::scratch_dir("ebb-writer");
  StoreWriter w(Store(root), false);
  const WrittenLayer first = w.write_blob("{{ .Prompt }}", media::kTemplate);
  EXPECT_FALSE(first.existed);
  EXPECT_EQ(first.layer.media_type, media::kTemplate);
  EXPECT_EQ(first.layer.digest, "sha256:" + sha256_hex("{{ .Prompt }}"));
  EXPECT_EQ(first.layer.size, 13);
  EXPECT_EQ(test::file_bytes(blob_file(root, "{{ .Prompt }}")), "{{ .Prompt }}");
  EXPECT_TRUE(w.write_blob("{{ .Prompt }}", media::kTemplate).existed);
  EXPECT_TRUE(w.has_blob(first.layer.digest));
  EXPECT_FALSE(w.has_blob("sha256:" + sha256_hex("other")));
  EXPECT_THROW(w.has_blob("sha256:abc"), std::invalid_argument);
}

TEST(StoreWriter, WritesAManifestThatReadsBack) {
  const fs::path root = ebb::test::scratch_dir("ebb-writer");
  StoreWriter w(Store(root), false);
  add(w, "me/m:v1", {{media::kModel, "gguf"}, {media::kSystem, "be brief"}});
  auto m = w.store().find(ModelName::parse("me/m:v1"));
  ASSERT_TRUE(m && m->manifest);
  EXPECT_EQ(m->error, "");
  ASSERT_EQ(m->manifest->layers.size(), 2u);
  EXPECT_EQ(m->manifest->layers[1].media_type, media::kSystem);
  EXPECT_EQ(m->manifest->layers[1].digest, "sha256:" + sha256_hex("be brief"));
  EXPECT_EQ(m->manifest->config.media_type, media::kConfig);
  EXPECT_EQ(m->manifest->media_type, media::kManifest);
}

TEST(StoreWriter, UploadsABlobAndRefusesAMismatch) {
  const fs::path root = ebb::test::scratch_dir("ebb-writer");
  StoreWriter w(Store(root), false);
  const std::string bytes = "some GGUF bytes, in chunks";
  const std::string digest = "sha256:" + sha256_hex(bytes);
  EXPECT_TRUE(w.upload_blob(digest, body(bytes)));
  EXPECT_EQ(test::file_bytes(blob_file(root, bytes)), bytes);
  EXPECT_FALSE(w.upload_blob(digest, [](std::string&) -> bool { throw std::logic_error("body read again"); }));

  const std::string other = "sha256:" + sha256_hex("what was promised");
  try {
    w.upload_blob(other, body("what came"));
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()),
              "digest mismatch, expected \"" + other + "\", got \"sha256:" + sha256_hex("what came") + "\"");
  }
  EXPECT_FALSE(w.has_blob(other));
  EXPECT_FALSE(fs::exists(root / "blobs" / ("sha256-" + other.substr(7) + "-partial")));
  EXPECT_THROW(w.upload_blob("sha256:zz", body("x")), std::invalid_argument);

  // A body that breaks off leaves nothing behind.
  const std::string cut = "sha256:" + sha256_hex("never finished");
  EXPECT_THROW(w.upload_blob(cut,
                             [n = 0](std::string& out) mutable -> bool {
                               if (n++) throw std::runtime_error("client went away");
                               out = "never";
                               return true;
                             }),
               std::runtime_error);
  EXPECT_FALSE(fs::exists(root / "blobs" / ("sha256-" + cut.substr(7) + "-partial")));
}

TEST(StoreWriter, CopiesAManifestUnderANewName) {
  const fs::path root = ebb::test::scratch_dir("ebb-writer");
  StoreWriter w(Store(root), false);
  add(w, "base", {{media::kModel, "gguf"}});
  w.copy("base", "me/copy:v2");
  const auto src = w.store().find(ModelName::parse("base"));
  const auto dst = w.store().find(ModelName::parse("me/copy:v2"));
  ASSERT_TRUE(src && dst);
  EXPECT_EQ(test::file_bytes(dst->manifest_file), test::file_bytes(src->manifest_file));
  EXPECT_EQ(dst->error, "");

  try {
    w.copy("absent", "x");
    FAIL() << "no error";
  } catch (const ModelNotFoundError& e) {
    EXPECT_STREQ(e.what(), "model \"absent\" not found");
  }
  try {
    w.copy("base", "bad name!");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "destination \"bad name!\" is invalid");
  }
}

TEST(StoreWriter, DeleteKeepsBlobsAnotherManifestNames) {
  const fs::path root = ebb::test::scratch_dir("ebb-writer");
  StoreWriter w(Store(root), false);
  add(w, "me/a:v1", {{media::kModel, "shared gguf"}, {media::kSystem, "only a"}});
  add(w, "me/b:v1", {{media::kModel, "shared gguf"}, {media::kSystem, "only b"}});
  w.copy("me/a:v1", "me/a-copy:v1");
  // Files a delete must never touch: an upload in progress, a stray file.
  std::ofstream(root / "blobs" / ("sha256-" + sha256_hex("downloading") + "-partial")) << "down";
  std::ofstream(root / "blobs" / "notes.txt") << "mine";

  w.remove("me/a:v1");  // its copy still names every blob
  EXPECT_FALSE(w.store().find(ModelName::parse("me/a:v1")));
  EXPECT_TRUE(fs::exists(blob_file(root, "only a")));
  EXPECT_TRUE(fs::exists(root / "manifests/registry.ollama.ai/me/a-copy/v1"));
  EXPECT_FALSE(fs::exists(root / "manifests/registry.ollama.ai/me/a"));  // its empty directory

  w.remove("me/a-copy:v1");
  EXPECT_FALSE(fs::exists(blob_file(root, "only a")));
  EXPECT_TRUE(fs::exists(blob_file(root, "shared gguf")));  // b names it
  EXPECT_TRUE(fs::exists(blob_file(root, "only b")));
  EXPECT_TRUE(fs::exists(blob_file(root, R"({"model_format":"gguf"})")));

  w.remove("ME/B:V1");  // names without case, as Ollama
  EXPECT_FALSE(fs::exists(blob_file(root, "shared gguf")));
  EXPECT_FALSE(fs::exists(blob_file(root, "only b")));
  EXPECT_FALSE(fs::exists(blob_file(root, R"({"model_format":"gguf"})")));
  EXPECT_FALSE(fs::exists(root / "manifests/registry.ollama.ai"));
  EXPECT_TRUE(fs::exists(root / "manifests"));
  EXPECT_TRUE(fs::exists(root / "blobs" / ("sha256-" + sha256_hex("downloading") + "-partial")));
  EXPECT_TRUE(fs::exists(root / "blobs" / "notes.txt"));

  try {
    w.remove("me/b:v1");
    FAIL() << "no error";
  } catch (const ModelNotFoundError& e) {
    EXPECT_STREQ(e.what(), "model 'me/b:v1' not found");
  }
}

TEST(StoreWriter, DeleteKeepsBlobsAManifestItCannotParseMentions) {
  const fs::path root = ebb::test::scratch_dir("ebb-writer");
  StoreWriter w(Store(root), false);
  add(w, "me/a:v1", {{media::kModel, "gguf a"}});
  const std::string digest = "sha256:" + sha256_hex("gguf a");
  fs::create_directories(root / "manifests/registry.ollama.ai/me/broken");
  std::ofstream(root / "manifests/registry.ollama.ai/me/broken/v1") << R"({"layers":[{"digest":")" + digest << "\"";
  w.remove("me/a:v1");
  EXPECT_TRUE(fs::exists(blob_file(root, "gguf a")));
}

TEST(StoreWriter, AReadOnlyStoreRefusesEveryWrite) {
  const fs::path root = ebb::test::scratch_dir("ebb-writer");
  add(StoreWriter(Store(root), false), "me/a:v1", {{media::kModel, "gguf"}});
  StoreWriter ro(Store(root), true);
  EXPECT_TRUE(ro.read_only());
  auto refused = [](auto&& write) {
    try {
      write();
    } catch (const ReadOnlyStoreError& e) {
      return std::string(e.what());
    }
    return std::string("written");
  };
  const std::string digest = "sha256:" + sha256_hex("x");
  EXPECT_NE(refused([&] { ro.write_blob("x", media::kSystem); }).find("is read-only (--models-read-only): cannot"),
            std::string::npos);
  EXPECT_NE(refused([&] { ro.upload_blob(digest, body("x")); }).find("cannot upload a blob"), std::string::npos);
  EXPECT_NE(refused([&] { ro.copy("me/a:v1", "me/b:v1"); }).find("cannot copy a model"), std::string::npos);
  EXPECT_NE(refused([&] { ro.remove("me/a:v1"); }).find("cannot delete a model"), std::string::npos);
  EXPECT_NE(refused([&] { ro.write_manifest(ModelName::parse("me/c"), Layer{}, {}); }).find("cannot write a manifest"),
            std::string::npos);
  EXPECT_TRUE(ro.store().find(ModelName::parse("me/a:v1")));
  EXPECT_FALSE(ro.store().find(ModelName::parse("me/b:v1")));
  EXPECT_FALSE(fs::exists(blob_file(root, "x")));
  EXPECT_TRUE(ro.has_blob("sha256:" + sha256_hex("gguf")));  // reading is allowed
}

}  // namespace
}  // namespace ebb::store
