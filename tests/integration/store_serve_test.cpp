// A models directory in Ollama's layout, served as it is by a real `ebb serve`: stored models by
// name:tag beside loose GGUF files, their layers (template, system, params, messages, license)
// applied to requests as Ollama applies them, and a model ebb cannot serve listed with its reason.
#include <fstream>
#include <sstream>

#include "../common/file_bytes.h"
#include "common/model_details.h"
#include "serve_fixture.h"
#include "store/manifest.h"
#include "store/model_name.h"

namespace ebb::test {
namespace {

// Writes `layers` (type, bytes) as blobs and a manifest for `name`; returns the manifest's bytes.
std::string add_model(const fs::path& root, const std::string& name,
                      const std::vector<std::pair<std::string_view, std::string>>& layers) {
  auto put = [&](std::string_view type, const std::string& bytes) {
    fs::create_directories(root / "blobs");
    const std::string hex = sha256_hex(bytes);
    std::ofstream(root / "blobs" / ("sha256-" + hex), std::ios::binary) << bytes;
    return json{{"mediaType", type}, {"digest", "sha256:" + hex}, {"size", bytes.size()}};
  };
  json m = {{"schemaVersion", 2},
            {"mediaType", store::media::kManifest},
            {"config", put(store::media::kConfig, R"({"model_format":"gguf"})")},
            {"layers", json::array()}};
  for (const auto& [type, bytes] : layers) m["layers"].push_back(put(type, bytes));
  const std::string text = m.dump();
  const fs::path file = root / "manifests" / store::ModelName::parse(name).manifest_path();
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
  return text;
}

class StoreServe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path dir = scratch_dir("ebb-test-store");
    gguf_ = new std::string(file_bytes(models_dir() / "tiny.gguf"));
    fs::copy_file(models_dir() / "tiny.gguf", dir / "loose.gguf");
    manifest_ =
        new std::string(add_model(dir, "me/tiny:v1",
                                  {{store::media::kModel, *gguf_},
                                   {store::media::kTemplate, "{{ .System }}|{{ .Prompt }}"},
                                   {store::media::kSystem, "be brief"},
                                   {store::media::kParams, R"({"num_predict":3,"temperature":0,"stop":["zzz"]})"},
                                   {store::media::kLicense, "MIT"}}));
    add_model(dir, "me/chat:v1",
              {{store::media::kModel, *gguf_},
               {store::media::kTemplate, "{{ range .Messages }}{{ .Role }}:{{ .Content }};{{ end }}"},
               {store::media::kSystem, "be brief"},
               {store::media::kMessages, R"([{"role":"user","content":"hello"},{"role":"assistant","content":"hi"}])"},
               {store::media::kParams, R"({"num_predict":2,"temperature":0})"}});
    // A template of its own, so that no KV snapshot of the other models' prompts is a prefix.
    add_model(dir, "me/gen:v1",
              {{store::media::kModel, *gguf_},
               {store::media::kTemplate, "{{ range .Messages }}<{{ .Role }}>{{ .Content }};{{ end }}"},
               {store::media::kSystem, "be brief"},
               {store::media::kMessages, R"([{"role":"user","content":"hello"},{"role":"assistant","content":"hi"}])"},
               {store::media::kParams, R"({"num_predict":2,"temperature":0})"}});
    add_model(dir, "vision", {{store::media::kModel, *gguf_}, {store::media::kProjector, "projector bytes"}});
    server_ = new Server({"--device-memory", "8GiB"}, dir);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static json post_ok(const std::string& path, const json& body) {
    auto [status, text] = server_->post(path, body);
    EXPECT_EQ(status, 200) << path << " " << body.dump() << " -> " << text;
    return json::parse(text, nullptr, false);
  }
  // A raw prompt's tokens on the loose copy of the same file (cached ones counted).
  static int raw_tokens(const std::string& prompt) {
    return post_ok("/v1/completions",
                   {{"model", "loose"}, {"prompt", prompt}, {"max_tokens", 1}})["usage"]["prompt_tokens"]
        .get<int>();
  }
  static Server* server_;
  static std::string* gguf_;
  static std::string* manifest_;
};
Server* StoreServe::server_ = nullptr;
std::string* StoreServe::gguf_ = nullptr;
std::string* StoreServe::manifest_ = nullptr;

TEST_F(StoreServe, TagsListStoredModelsWithTheirManifestsDigestAndSize) {
  std::map<std::string, json> tags;
  const json listed = server_->get("/api/tags");
  for (const json& m : listed["models"]) tags[m["name"].get<std::string>()] = m;
  ASSERT_TRUE(tags.count("me/tiny:v1")) << listed.dump();
  ASSERT_TRUE(tags.count("loose:latest"));
  ASSERT_TRUE(tags.count("vision:latest"));  // listed, though it cannot be served
  const json& t = tags["me/tiny:v1"];
  EXPECT_EQ(t["model"], "me/tiny:v1");
  EXPECT_EQ(t["digest"], sha256_hex(*manifest_));
  const store::Manifest m = store::Manifest::parse(*manifest_);
  EXPECT_EQ(t["size"], m.size());
  EXPECT_GT(t["size"].get<int64_t>(), static_cast<int64_t>(gguf_->size()));
  EXPECT_EQ(t["details"]["format"], "gguf");
  EXPECT_FALSE(t["modified_at"].get<std::string>().empty());
}

TEST_F(StoreServe, ShowPrintsTheLayers) {
  const json s = post_ok("/api/show", {{"model", "me/tiny:v1"}});
  EXPECT_EQ(s["template"], "{{ .System }}|{{ .Prompt }}");
  EXPECT_EQ(s["system"], "be brief");
  EXPECT_EQ(s["license"], "MIT");
  EXPECT_EQ(
      s["parameters"],
      "num_predict                    3\nstop                           \"zzz\"\ntemperature                    0");
  EXPECT_EQ(s["capabilities"], json({"completion"}));
  const std::string mf = s["modelfile"];
  for (const char* line : {"TEMPLATE {{ .System }}|{{ .Prompt }}\n", "SYSTEM be brief\n", "PARAMETER num_predict 3\n",
                           "PARAMETER stop zzz\n", "LICENSE MIT\n", "# FROM me/tiny:v1\n"})
    EXPECT_NE(mf.find(line), std::string::npos) << line << " not in " << mf;
  EXPECT_EQ(post_ok("/api/show", {{"model", "me/chat:v1"}})["messages"],
            json::parse(R"([{"role":"user","content":"hello"},{"role":"assistant","content":"hi"}])"));
}

TEST_F(StoreServe, GenerateTakesTheModelsTemplateSystemAndParams) {
  const json a = post_ok("/api/generate", {{"model", "me/tiny:v1"}, {"prompt", "hello there"}, {"stream", false}});
  EXPECT_EQ(a["done"], true) << a.dump();
  EXPECT_EQ(a["eval_count"], 3) << a.dump();  // num_predict from the params layer
  // The model saw the template rendered with the stored system prompt (the first prompt to this
  // model: nothing was cached).
  EXPECT_EQ(a["prompt_eval_count"], raw_tokens("be brief|hello there")) << a.dump();

  // The request's own options and system win.
  const json b = post_ok("/api/generate", {{"model", "me/tiny:v1"},
                                           {"prompt", "hello there"},
                                           {"system", "mine"},
                                           {"stream", false},
                                           {"options", {{"num_predict", 5}}}});
  EXPECT_EQ(b["eval_count"], 5) << b.dump();
  // Greedy from the params layer: the same request twice answers the same.
  EXPECT_EQ(post_ok("/api/generate", {{"model", "me/tiny:v1"}, {"prompt", "again"}, {"stream", false}})["response"],
            post_ok("/api/generate", {{"model", "me/tiny:v1"}, {"prompt", "again"}, {"stream", false}})["response"]);
}

TEST_F(StoreServe, ChatPutsTheStoredSystemAndMessagesFirst) {
  const json a = post_ok(
      "/api/chat",
      {{"model", "me/chat:v1"}, {"messages", {{{"role", "user"}, {"content", "question"}}}}, {"stream", false}});
  EXPECT_EQ(a["eval_count"], 2) << a.dump();
  EXPECT_EQ(a["prompt_eval_count"], raw_tokens("system:be brief;user:hello;assistant:hi;user:question;")) << a.dump();
  const json g = post_ok("/v1/completions", {{"model", "me/chat:v1"}, {"prompt", "question"}, {"max_tokens", 1}});
  EXPECT_EQ(g["usage"]["prompt_tokens"], raw_tokens("question"));  // /v1/completions is raw: no layers
}

TEST_F(StoreServe, GeneratePutsTheStoredMessagesBeforeItsPrompt) {
  // As Ollama: system, the model's messages, then the prompt (a model of its own: nothing cached).
  const json a = post_ok("/api/generate", {{"model", "me/gen:v1"}, {"prompt", "question"}, {"stream", false}});
  EXPECT_EQ(a["prompt_eval_count"], raw_tokens("<system>be brief;<user>hello;<assistant>hi;<user>question;"))
      << a.dump();
}

TEST_F(StoreServe, NamesFollowOllamasRules) {
  EXPECT_EQ(server_->post("/api/show", {{"model", "registry.ollama.ai/me/TINY:v1"}}).first, 200);
  EXPECT_EQ(server_->post("/api/show", {{"model", "loose:latest"}}).first, 200);
  auto [status, text] = server_->post("/api/generate", {{"model", "bad name!"}, {"prompt", "x"}});
  EXPECT_EQ(status, 400);
  EXPECT_EQ(json::parse(text)["error"], "invalid model name");
  EXPECT_EQ(server_->post("/api/generate", {{"model", "../../etc/passwd"}, {"prompt", "x"}}).first, 400);
  auto [missing, why] = server_->post("/api/generate", {{"model", "me/absent:v1"}, {"prompt", "x"}});
  EXPECT_EQ(missing, 404);
  EXPECT_EQ(json::parse(why)["error"], "model 'me/absent:v1' not found");
}

TEST_F(StoreServe, AModelEbbCannotServeSaysWhy) {
  auto [status, text] = server_->post("/api/generate", {{"model", "vision"}, {"prompt", "x"}, {"stream", false}});
  EXPECT_EQ(status, 500);
  EXPECT_NE(text.find("application/vnd.ollama.image.projector"), std::string::npos) << text;
}

}  // namespace
}  // namespace ebb::test
