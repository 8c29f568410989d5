// Pull and push against a real registry (Docker Distribution's docker-registry): a fake Ollama
// model pushed, pulled back byte for byte, re-pulled without downloads, resumed from a partial
// file, rejected when the registry's copy is corrupt; unknown models, a refused connection and a
// full disk (a real tmpfs) give clear errors and leave no manifest.
#include <sys/stat.h>

#include <cerrno>

#include "../common/scoped_tmpfs.h"
#include "registry_fixture.h"

namespace ebb::test {
namespace {

using store::ModelName;
using store::RegistryError;
using store::RegistryOptions;
using store::Store;

class RegistryPull : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new DockerRegistry();
    ASSERT_TRUE(registry_->ready()) << "docker-registry did not answer GET /v2/:\n" << registry_->log();
  }
  static void TearDownTestSuite() {
    delete registry_;
    registry_ = nullptr;
  }
  void SetUp() override {
    if (!registry_ || !registry_->ready()) GTEST_SKIP() << "no registry";
    options_.insecure = true;
  }

  ModelName name(const std::string& repo_tag) const { return ModelName::parse(registry_->host() + "/" + repo_tag); }
  static Store new_store(const char* prefix) { return Store(scratch_dir(prefix)); }
  // A model pushed once per name.
  void pushed(const ModelName& n, const FakeModel& m) {
    Store s = new_store("ebb-push-src");
    m.install(s, n);
    store::push_model(s, n, options_, nullptr);
  }
  static void expect_same_model(const Store& s, const ModelName& n, const FakeModel& m) {
    auto found = s.find(n);
    ASSERT_TRUE(found);
    EXPECT_EQ(file_bytes(found->manifest_file), m.manifest);
    for (const auto& [digest, bytes] : m.blobs) EXPECT_EQ(file_bytes(*s.blob_path(digest)), bytes) << digest;
  }
  static std::vector<fs::path> partials(const Store& s) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(s.blobs_dir(), ec))
      if (e.path().string().ends_with("-partial")) out.push_back(e.path());
    return out;
  }

  static inline DockerRegistry* registry_ = nullptr;
  RegistryOptions options_;
};

TEST_F(RegistryPull, PushThenPullGivesTheSameBytes) {
  const FakeModel model = FakeModel::make(3 << 20, 1);
  const ModelName n = name("me/tiny:v1");
  Store src = new_store("ebb-push-src");
  model.install(src, n);
  Recorder pushed;
  options_.upload_chunk = 1 << 20;  // several PATCHes, each after the Location the last one gave
  store::push_model(src, n, options_, pushed.fn());
  std::vector<int64_t> model_steps;
  for (const auto& e : pushed.events)
    if (e.value("digest", "") == model.model_digest) model_steps.push_back(e["completed"]);
  EXPECT_EQ(model_steps, (std::vector<int64_t>{1 << 20, 2 << 20, 3 << 20, (3 << 20) + 4, (3 << 20) + 4}));
  const std::string short_model = "pushing " + model.model_digest.substr(7, 12);
  const auto push_statuses = pushed.statuses();
  ASSERT_FALSE(push_statuses.empty());
  EXPECT_EQ(push_statuses.front(), "retrieving manifest");
  EXPECT_NE(std::find(push_statuses.begin(), push_statuses.end(), short_model), push_statuses.end());
  EXPECT_EQ(push_statuses[push_statuses.size() - 2], "pushing manifest");
  EXPECT_EQ(push_statuses.back(), "success");

  fs::remove_all(src.root());
  Store dst = new_store("ebb-pull-dst");
  Recorder pulled;
  store::pull_model(dst, n, options_, pulled.fn());
  expect_same_model(dst, n, model);
  EXPECT_TRUE(partials(dst).empty());

  const auto s = pulled.statuses();
  ASSERT_GE(s.size(), 5u);
  EXPECT_EQ(s.front(), "pulling manifest");
  EXPECT_EQ(s[s.size() - 3], "verifying sha256 digest");
  EXPECT_EQ(s[s.size() - 2], "writing manifest");
  EXPECT_EQ(s.back(), "success");
  // Each blob's progress names its digest and ends complete.
  for (const auto& [digest, bytes] : model.blobs) {
    const json* last = nullptr;
    for (const auto& e : pulled.events)
      if (e.value("digest", "") == digest) last = &e;
    ASSERT_TRUE(last) << digest;
    EXPECT_EQ((*last)["status"], "pulling " + digest.substr(7, 12));
    EXPECT_EQ((*last)["total"], bytes.size());
    EXPECT_EQ((*last)["completed"], bytes.size());
  }

  // A second push finds every blob there already and uploads nothing but the manifest.
  Recorder again;
  store::push_model(dst, n, options_, again.fn());
  for (const auto& e : again.events) {
    if (e.contains("completed")) {
      EXPECT_EQ(e["completed"], e["total"]);
    }
  }
}

TEST_F(RegistryPull, RepullFetchesOnlyMissingBlobs) {
  const FakeModel model = FakeModel::make(1 << 20, 2);
  const ModelName n = name("me/repull:v1");
  pushed(n, model);
  Store dst = new_store("ebb-pull-dst");
  store::pull_model(dst, n, options_, nullptr);
  auto inode = [&](const std::string& digest) {
    struct stat st {};
    ::stat(dst.blob_path(digest)->c_str(), &st);
    return st.st_ino;
  };
  std::map<std::string, ino_t> before;
  for (const auto& [digest, bytes] : model.blobs) before[digest] = inode(digest);
  // A downloaded blob is a new file renamed into place: its inode changes.
  fs::remove(*dst.blob_path(model.model_digest));
  store::pull_model(dst, n, options_, nullptr);
  expect_same_model(dst, n, model);
  for (const auto& [digest, bytes] : model.blobs) {
    if (digest == model.model_digest) continue;
    EXPECT_EQ(inode(digest), before[digest]) << digest << " was downloaded again";
  }
  const ino_t model_inode = inode(model.model_digest);
  store::pull_model(dst, n, options_, nullptr);
  for (const auto& [digest, bytes] : model.blobs)
    EXPECT_EQ(inode(digest), digest == model.model_digest ? model_inode : before[digest]) << digest;
}

TEST_F(RegistryPull, ResumesAPartialBlob) {
  const FakeModel model = FakeModel::make(4 << 20, 3);
  const ModelName n = name("me/resume:v1");
  pushed(n, model);
  Store dst = new_store("ebb-pull-dst");
  const std::string& bytes = model.blobs.at(model.model_digest);
  const size_t half = bytes.size() / 2;
  fs::create_directories(dst.blobs_dir());
  const fs::path partial = dst.blobs_dir() / ("sha256-" + model.model_digest.substr(7) + "-partial");
  std::ofstream(partial, std::ios::binary) << bytes.substr(0, half);
  Recorder r;
  store::pull_model(dst, n, options_, r.fn());
  expect_same_model(dst, n, model);
  // The first progress of the model blob starts after the kept half: only the rest was fetched.
  for (const auto& e : r.events) {
    if (e.value("digest", "") != model.model_digest) continue;
    EXPECT_GE(e["completed"].get<size_t>(), half);
    break;
  }
}

TEST_F(RegistryPull, CorruptBlobInTheRegistryIsRejected) {
  const FakeModel model = FakeModel::make(1 << 20, 4);
  const ModelName n = name("me/corrupt:v1");
  pushed(n, model);
  const fs::path data = registry_->blob_data(model.model_digest);
  ASSERT_TRUE(fs::exists(data)) << data;
  std::string bad = file_bytes(data);
  bad[bad.size() / 2] ^= 0x55;
  std::ofstream(data, std::ios::binary | std::ios::trunc) << bad;

  Store dst = new_store("ebb-pull-dst");
  try {
    store::pull_model(dst, n, options_, nullptr);
    FAIL() << "a corrupt blob was accepted";
  } catch (const RegistryError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("pull " + n.full()), std::string::npos) << what;
    EXPECT_NE(what.find(model.model_digest), std::string::npos) << what;
    EXPECT_NE(what.find("corrupt"), std::string::npos) << what;
  }
  EXPECT_FALSE(dst.find(n));
  EXPECT_FALSE(fs::exists(*dst.blob_path(model.model_digest)));
  EXPECT_TRUE(partials(dst).empty());
}

TEST_F(RegistryPull, UnknownModelNamesTheRegistryAndStatus) {
  const ModelName n = name("me/nothing:v1");
  Store dst = new_store("ebb-pull-dst");
  try {
    store::pull_model(dst, n, options_, nullptr);
    FAIL() << "pulled a model the registry does not have";
  } catch (const RegistryError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("pull " + registry_->host() + "/me/nothing:v1: "), std::string::npos) << what;
    EXPECT_NE(what.find("registry answered 404 Not Found"), std::string::npos) << what;
  }
  EXPECT_FALSE(dst.find(n));
}

TEST_F(RegistryPull, RefusedConnectionSaysSo) {
  const ModelName n = ModelName::parse("127.0.0.1:" + std::to_string(free_port()) + "/me/m:v1");
  Store dst = new_store("ebb-pull-dst");
  try {
    store::pull_model(dst, n, options_, nullptr);
    FAIL() << "pulled from nowhere";
  } catch (const RegistryError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach registry " + n.host), std::string::npos) << e.what();
  }
}

TEST_F(RegistryPull, FullDiskLeavesNoManifest) {
  const FakeModel model = FakeModel::make(12 << 20, 5);
  const ModelName n = name("me/big:v1");
  pushed(n, model);
  const fs::path mnt = scratch_dir("ebb-tmpfs");
  ScopedTmpfs tmpfs(mnt, "8m");
  if (tmpfs.error() == EPERM) GTEST_SKIP() << "cannot mount a tmpfs here (EPERM)";
  ASSERT_EQ(tmpfs.error(), 0) << "mount: " << std::strerror(tmpfs.error());
  Store dst(mnt / "models");
  try {
    store::pull_model(dst, n, options_, nullptr);
    FAIL() << "a 12 MiB model fit in 8 MiB";
  } catch (const RegistryError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no space left on the device"), std::string::npos) << what;
    EXPECT_NE(what.find("pull " + n.full()), std::string::npos) << what;
  }
  EXPECT_FALSE(dst.find(n));
  EXPECT_FALSE(fs::exists(dst.manifests_dir() / n.manifest_path()));
}

}  // namespace
}  // namespace ebb::test
