// The model lifecycle through a real `ebb serve`'s HTTP API, as the ollama CLI drives it: a GGUF
// uploaded as a blob and created into a model, copied, pushed to a real registry
// (docker-registry), deleted, pulled back byte for byte and served; blobs shared between copies
// survive a delete; a read-only store refuses every write.
#include "registry_fixture.h"
#include "serve_fixture.h"

#include <sys/stat.h>

namespace ebb::test {
namespace {

class StoreApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch_dir("ebb-test-store-api"));
    gguf_ = new std::string(file_bytes(models_dir() / "tiny.gguf"));
    digest_ = new std::string("sha256:" + sha256_hex(*gguf_));
    server_ = new Server({"--device-memory", "8GiB"}, *dir_);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static std::pair<int, std::string> upload(const std::string& digest, const std::string& bytes) {
    httplib::Client c("127.0.0.1", server_->port());
    auto r = c.Post(("/api/blobs/" + digest).c_str(), bytes, "application/octet-stream");
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  }
  static int head_blob(const std::string& digest) {
    httplib::Client c("127.0.0.1", server_->port());
    auto r = c.Head(("/api/blobs/" + digest).c_str());
    return r ? r->status : 0;
  }
  static std::pair<int, std::string> del(const json& body) {
    httplib::Client c("127.0.0.1", server_->port());
    auto r = c.Delete("/api/delete", body.dump(), "application/json");
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  }
  static void create(const std::string& name, const json& extra = json::object()) {
    if (head_blob(*digest_) != 200) {
      ASSERT_EQ(upload(*digest_, *gguf_).first, 201);
    }
    json body = {{"model", name}, {"files", {{"tiny.gguf", *digest_}}}, {"stream", false}};
    body.update(extra);
    auto [status, text] = server_->post("/api/create", body);
    ASSERT_EQ(status, 200) << text;
    EXPECT_EQ(json::parse(text)["status"], "success");
  }
  static json generate(const std::string& model) {
    auto [status, text] = server_->post("/api/generate", {{"model", model},
                                                          {"prompt", "hello"},
                                                          {"stream", false},
                                                          {"options", {{"num_predict", 2}, {"temperature", 0}}}});
    EXPECT_EQ(status, 200) << model << ": " << text;
    return json::parse(text, nullptr, false);
  }
  static bool blob_on_disk(const std::string& digest) {
    return fs::exists(*dir_ / "blobs" / ("sha256-" + digest.substr(7)));
  }
  static std::set<std::string> tags() {
    std::set<std::string> out;
    const json t = server_->get("/api/tags");
    for (const json& m : t["models"]) out.insert(m["name"].get<std::string>());
    return out;
  }
  static inline fs::path* dir_ = nullptr;
  static inline std::string* gguf_ = nullptr;
  static inline std::string* digest_ = nullptr;
  static inline Server* server_ = nullptr;
};

TEST_F(StoreApi, BlobUploadsAreVerified) {
  const std::string bytes = "not the bytes of that digest";
  auto [status, text] = upload("sha256:" + std::string(64, 'a'), bytes);
  EXPECT_EQ(status, 400);
  EXPECT_NE(text.find("digest mismatch"), std::string::npos) << text;
  EXPECT_EQ(head_blob("sha256:" + std::string(64, 'a')), 404);
  EXPECT_EQ(upload("sha256:../../etc", bytes).first, 404);  // no route: a digest never holds a '/'
  EXPECT_EQ(upload("sha256:zz", bytes).first, 400);
  const std::string good = "sha256:" + sha256_hex(bytes);
  EXPECT_EQ(upload(good, bytes).first, 201);
  EXPECT_EQ(upload(good, bytes).first, 200);  // already there
  EXPECT_EQ(head_blob(good), 200);
}

TEST_F(StoreApi, CreateStreamsProgressAndTheModelServesWithItsLayers) {
  ASSERT_EQ(upload(*digest_, *gguf_).first == 201 || head_blob(*digest_) == 200, true);
  const auto lines = server_->stream("/api/create", {{"model", "me/made:v1"},
                                                     {"files", {{"tiny.gguf", *digest_}}},
                                                     {"system", "be brief"},
                                                     {"parameters", {{"num_predict", 3}}}});
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back().value("status", ""), "success") << lines.back().dump();
  EXPECT_TRUE(tags().count("me/made:v1"));
  const json show = json::parse(server_->post("/api/show", {{"model", "me/made:v1"}}).second);
  EXPECT_EQ(show["system"], "be brief");
  auto [status, text] = server_->post("/api/generate", {{"model", "me/made:v1"}, {"prompt", "x"}, {"stream", false}});
  ASSERT_EQ(status, 200) << text;
  EXPECT_EQ(json::parse(text)["eval_count"], 3);  // the created model's parameter
}

TEST_F(StoreApi, CopyAndDeleteKeepSharedBlobs) {
  create("me/orig:v1");
  auto [status, text] = server_->post("/api/copy", {{"source", "me/orig:v1"}, {"destination", "me/twin:v1"}});
  ASSERT_EQ(status, 200) << text;
  EXPECT_EQ(server_->post("/api/copy", {{"source", "me/orig:v1"}, {"destination", "bad name!"}}).first, 400);
  EXPECT_EQ(server_->post("/api/copy", {{"source", "me/absent:v1"}, {"destination", "me/x:v1"}}).first, 404);
  EXPECT_EQ(generate("me/twin:v1")["eval_count"], 2);

  EXPECT_EQ(del({{"model", "me/twin:v1"}}).first, 200);  // loaded: unloaded first
  EXPECT_FALSE(tags().count("me/twin:v1"));
  EXPECT_TRUE(blob_on_disk(*digest_));  // me/orig still names it
  EXPECT_EQ(generate("me/orig:v1")["eval_count"], 2);
  EXPECT_EQ(del({{"model", "me/twin:v1"}}).first, 404);
  EXPECT_EQ(del({{"model", "bad name!"}}).first, 400);  // as Ollama: no model can have that name
}

TEST_F(StoreApi, PushToARealRegistryDeleteAndPullBack) {
  DockerRegistry registry;
  ASSERT_TRUE(registry.ready()) << registry.log();
  const std::string name = registry.host() + "/me/shipped:v1";
  create("me/ship:v1", {{"template", "{{ .Prompt }}"}});
  ASSERT_EQ(server_->post("/api/copy", {{"source", "me/ship:v1"}, {"destination", name}}).first, 200);
  const auto manifest_file = *dir_ / "manifests" / registry.host() / "me/shipped/v1";
  const std::string manifest = file_bytes(manifest_file);
  ASSERT_FALSE(manifest.empty());

  const auto pushed = server_->stream("/api/push", {{"model", name}, {"insecure", true}});
  ASSERT_FALSE(pushed.empty());
  EXPECT_EQ(pushed.back().value("status", ""), "success") << pushed.back().dump();

  ASSERT_EQ(del({{"model", name}}).first, 200);
  ASSERT_EQ(del({{"model", "me/ship:v1"}}).first, 200);
  EXPECT_FALSE(fs::exists(manifest_file));

  const auto pulled = server_->stream("/api/pull", {{"model", name}, {"insecure", true}});
  ASSERT_FALSE(pulled.empty());
  EXPECT_EQ(pulled.front().value("status", ""), "pulling manifest");
  EXPECT_EQ(pulled.back().value("status", ""), "success") << pulled.back().dump();
  bool reported_model = false;
  for (const json& l : pulled)
    if (l.value("digest", "") == *digest_ && l.value("completed", 0) == static_cast<int64_t>(gguf_->size()))
      reported_model = true;
  EXPECT_TRUE(reported_model);
  EXPECT_EQ(file_bytes(manifest_file), manifest);
  EXPECT_EQ(file_bytes(*dir_ / "blobs" / ("sha256-" + digest_->substr(7))), *gguf_);
  EXPECT_EQ(generate(name)["eval_count"], 2);

  // Clear errors: a model the registry lacks, a registry that is not there, a bad name.
  const std::string absent = registry.host() + "/me/absent:v1";
  auto [status, text] = server_->post("/api/pull", {{"model", absent}, {"insecure", true}, {"stream", false}});
  EXPECT_EQ(status, 500);
  EXPECT_NE(text.find("404"), std::string::npos) << text;
  EXPECT_NE(text.find(registry.host()), std::string::npos) << text;
  const auto streamed = server_->stream("/api/pull", {{"model", absent}, {"insecure", true}});
  ASSERT_FALSE(streamed.empty());
  EXPECT_NE(streamed.back().value("error", "").find("404"), std::string::npos) << streamed.back().dump();
  EXPECT_EQ(server_->post("/api/pull", {{"model", "bad name!"}}).first, 400);
  auto [plain, why] = server_->post("/api/pull", {{"model", "http://" + name}});  // http without insecure
  EXPECT_EQ(plain, 400);
  EXPECT_NE(why.find("insecure protocol http"), std::string::npos) << why;
  EXPECT_EQ(server_->post("/api/push", {{"model", "me/absent:v1"}}).first, 404);
}

TEST(StoreApiReadOnly, EveryWriteIsRefused) {
  const fs::path dir = scratch_dir("ebb-test-store-ro");
  fs::copy_file(models_dir() / "tiny.gguf", dir / "loose.gguf");
  Server server({"--device-memory", "8GiB", "--models-read-only"}, dir);
  auto [status, text] = server.post("/api/create", {{"model", "me/m:v1"}, {"from", "loose"}, {"stream", false}});
  EXPECT_EQ(status, 403) << text;
  EXPECT_NE(text.find("read-only"), std::string::npos) << text;
  EXPECT_EQ(server.post("/api/pull", {{"model", "127.0.0.1:1/me/m:v1"}, {"insecure", true}}).first, 403);
  httplib::Client c("127.0.0.1", server.port());
  auto r = c.Post(("/api/blobs/sha256:" + sha256_hex("x")).c_str(), "x", "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_FALSE(fs::exists(dir / "blobs"));
  EXPECT_FALSE(fs::exists(dir / "manifests"));
}

}  // namespace
}  // namespace ebb::test

namespace ebb::test {
namespace {

// The CLI as an ollama user types it: create from a Modelfile that names a local GGUF (uploaded as
// a blob), cp, rm, and a pull error that names the registry.
TEST(StoreCli, CreateCopyRemoveFromTheCommandLine) {
  const fs::path dir = scratch_dir("ebb-test-store-cli");
  const fs::path work = scratch_dir("ebb-test-store-cli-work");
  Server server({"--device-memory", "8GiB"}, dir);
  const std::string host = " --host 127.0.0.1:" + std::to_string(server.port());
  fs::copy_file(models_dir() / "tiny.gguf", work / "weights.gguf");
  std::ofstream(work / "Modelfile") << "FROM ./weights.gguf\nSYSTEM \"\"\"be brief\"\"\"\nPARAMETER num_predict 2\n";
  const std::string out = run_capture("cd " + work.string() + " && " + EBB_BIN + " create me/cli:v1" + host + " 2>&1");
  EXPECT_NE(out.find("success"), std::string::npos) << out;
  const json show = json::parse(server.post("/api/show", {{"model", "me/cli:v1"}}).second);
  EXPECT_EQ(show["system"], "be brief");
  EXPECT_NE(show["parameters"].get<std::string>().find("num_predict"), std::string::npos);

  EXPECT_NE(run_capture(std::string(EBB_BIN) + " cp me/cli:v1 me/cli2:v1" + host).find("copied"), std::string::npos);
  EXPECT_NE(run_capture(std::string(EBB_BIN) + " rm me/cli:v1" + host).find("deleted 'me/cli:v1'"), std::string::npos);
  EXPECT_EQ(server.post("/api/show", {{"model", "me/cli:v1"}}).first, 404);
  auto [status, text] = server.post("/api/generate", {{"model", "me/cli2:v1"}, {"prompt", "x"}, {"stream", false}});
  ASSERT_EQ(status, 200) << text;
  EXPECT_EQ(json::parse(text)["eval_count"], 2);

  // An Ollama store (this one, in Ollama's layout) imported into another: blobs hardlinked.
  const fs::path copy = scratch_dir("ebb-test-store-import");
  const std::string imported =
      run_capture(std::string(EBB_BIN) + " import --from-ollama " + dir.string() + " --models " + copy.string());
  EXPECT_NE(imported.find("1 imported"), std::string::npos) << imported;
  const std::string blob = "blobs/sha256-" + sha256_hex(file_bytes(work / "weights.gguf"));
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat((dir / blob).c_str(), &a), 0);
  ASSERT_EQ(::stat((copy / blob).c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_TRUE(fs::exists(copy / "manifests/registry.ollama.ai/me/cli2/v1"));

  int rc = 0;
  const std::string pulled =
      run_command(std::string(EBB_BIN) + " pull 127.0.0.1:1/me/none:v1 --insecure" + host + " 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(pulled.find("127.0.0.1:1"), std::string::npos) << pulled;
}

// `ebb create --quantize` shows the seed's "4-bit halves the memory" on the user's own model: the
// footprint at the model's context before and after, from the dry run serve then reserves by.
TEST(StoreCli, QuantizingCreateReportsTheFootprintServeReserves) {
  const fs::path dir = scratch_dir("ebb-test-store-q");
  const fs::path work = scratch_dir("ebb-test-store-q-work");
  int rc = 0;
  run_command(std::string(EBB_BIN) + " synth --out " + (work / "f16.gguf").string() +
                  " --params 1M --quant f16 --seed 5 >/dev/null 2>&1",
              &rc);
  ASSERT_EQ(rc, 0);
  Server server({"--device-memory", "8GiB"}, dir);
  const std::string host = " --host 127.0.0.1:" + std::to_string(server.port());
  std::ofstream(work / "Modelfile") << "FROM ./f16.gguf\n";
  const std::string out =
      run_capture("cd " + work.string() + " && " + EBB_BIN + " create me/q4cli:v1 --quantize q4_0" + host + " 2>&1");
  EXPECT_NE(out.find("footprint at num_ctx "), std::string::npos) << out;
  EXPECT_NE(out.find(" after q4_0"), std::string::npos) << out;
  EXPECT_NE(out.find("success"), std::string::npos) << out;

  // The same through the API, at the context the model's own num_ctx parameter gives.
  const std::string digest = "sha256:" + sha256_hex(file_bytes(work / "f16.gguf"));
  json footprint;
  for (const json& line : server.stream("/api/create", {{"model", "me/q4api:v1"},
                                                        {"files", {{"f16.gguf", digest}}},
                                                        {"parameters", {{"num_ctx", 512}}},
                                                        {"quantize", "q4_0"}})) {
    if (line.contains("footprint")) footprint = line["footprint"];
    if (line.value("status", "") == "success") EXPECT_FALSE(footprint.is_null()) << "footprint after success";
  }
  ASSERT_FALSE(footprint.is_null());
  EXPECT_EQ(footprint["num_ctx"], 512);
  EXPECT_LT(footprint["weights_after"].get<uint64_t>(), footprint["weights_before"].get<uint64_t>());
  EXPECT_LT(footprint["after"].get<uint64_t>(), footprint["before"].get<uint64_t>());
  auto [status, text] =
      server.post("/api/generate",
                  {{"model", "me/q4api:v1"}, {"prompt", "x"}, {"stream", false}, {"options", {{"num_predict", 1}}}});
  ASSERT_EQ(status, 200) << text;
  bool found = false;
  const json ps = server.get("/api/ps");
  for (const json& m : ps["models"]) {
    if (m["name"] != "me/q4api:v1") continue;
    found = true;
    EXPECT_EQ(m["estimated_bytes"], footprint["after"]);
    EXPECT_EQ(m["weights_bytes"], footprint["weights_after"]);
  }
  EXPECT_TRUE(found) << ps.dump();
}

}  // namespace
}  // namespace ebb::test
