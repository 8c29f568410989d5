// Hostile GGUF files in the models directory (issue 13 §2): every file passes ebb's validator
// (common/gguf_reader.h) before a runner sees it. One that fails is listed by /api/tags with its
// reason, its requests get the 500 of a model that cannot be loaded with that reason, and a good
// model beside them keeps serving.
#include <map>

#include "../common/bad_gguf.h"
#include "../common/file_bytes.h"
#include "common/model_details.h"
#include "serve_fixture.h"

namespace ebb::test {
namespace {

class Validate : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(scratch_dir("ebb-test-validate"));
    fs::copy_file(models_dir() / "tiny.gguf", *dir_ / "good.gguf");
    corpus_ = new std::vector<BadGguf>(bad_gguf_corpus(file_bytes(models_dir() / "tiny.gguf")));
    for (const BadGguf& bad : *corpus_) std::ofstream(*dir_ / (bad.name + ".gguf"), std::ios::binary) << bad.bytes;
    server_ = new Server({}, *dir_);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete corpus_;
    delete dir_;
  }

  static std::map<std::string, json> tags() {
    std::map<std::string, json> out;
    const json listed = server_->get("/api/tags");
    for (const json& m : listed["models"]) out[m["name"].get<std::string>()] = m;
    return out;
  }

  // The server answers and still generates with the good model.
  static void expect_good_model_serves() {
    EXPECT_TRUE(process_alive(server_->pid()));
    const auto [status, text] = server_->post("/api/generate", {{"model", "good"},
                                                                {"prompt", "hi"},
                                                                {"stream", false},
                                                                {"options", {{"num_predict", 2}, {"temperature", 0}}}});
    EXPECT_EQ(status, 200) << text;
  }

  static inline fs::path* dir_ = nullptr;
  static inline std::vector<BadGguf>* corpus_ = nullptr;
  static inline Server* server_ = nullptr;
};

TEST_F(Validate, TagsListEachBadFileWithItsReason) {
  const auto listed = tags();
  ASSERT_TRUE(listed.count("good:latest"));
  EXPECT_FALSE(listed.at("good:latest").contains("error")) << listed.at("good:latest").dump();
  EXPECT_EQ(listed.at("good:latest")["details"]["format"], "gguf");
  for (const BadGguf& bad : *corpus_) {
    SCOPED_TRACE(bad.name);
    const auto it = listed.find(bad.name + ":latest");
    ASSERT_NE(it, listed.end());
    const json& m = it->second;
    EXPECT_NE(m.value("error", "").find(bad.reason), std::string::npos) << m.dump();
    // Otherwise shaped as Ollama's entries are.
    EXPECT_EQ(m["model"], bad.name + ":latest");
    EXPECT_EQ(m["size"], bad.bytes.size());
    EXPECT_EQ(m["digest"].get<std::string>().size(), 64u);
    EXPECT_TRUE(m["modified_at"].is_string());
    EXPECT_TRUE(m["details"].is_object());
  }
  // OpenAI's model list has no place for a reason: it names the models that serve.
  const json v1 = server_->get("/v1/models");
  ASSERT_EQ(v1["data"].size(), 1u) << v1.dump();
  EXPECT_EQ(v1["data"][0]["id"], "good:latest");
}

TEST_F(Validate, RequestsForABadFileGetTheReasonAndTheServerKeepsServing) {
  struct Route {
    const char* path;
    json body;
  };
  for (const BadGguf& bad : *corpus_) {
    SCOPED_TRACE(bad.name);
    const std::string& m = bad.name;
    const std::vector<Route> routes = {
        {"/api/generate", {{"model", m}, {"prompt", "hi"}, {"stream", false}}},
        {"/api/generate", {{"model", m}}},  // only loads
        {"/api/chat", {{"model", m}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}},
        {"/api/embed", {{"model", m}, {"input", "hi"}}},
        {"/api/embeddings", {{"model", m}, {"prompt", "hi"}}},
        {"/api/show", {{"model", m}}},
        {"/api/models/load", {{"model", m}}},
        {"/v1/chat/completions", {{"model", m}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}},
        {"/v1/completions", {{"model", m}, {"prompt", "hi"}}},
        {"/v1/embeddings", {{"model", m}, {"input", "hi"}}},
        {"/v1/responses", {{"model", m}, {"input", "hi"}}},
    };
    for (const Route& r : routes) {
      const auto [status, text] = server_->post(r.path, r.body);
      EXPECT_EQ(status, 500) << r.path << ": " << text;
      const json answer = json::parse(text, nullptr, false);
      const json error = answer.value("error", json());
      const std::string message = error.is_object()   ? error.value("message", "")
                                  : error.is_string() ? error.get<std::string>()
                                                      : "";
      EXPECT_NE(message.find("model '" + m + "' could not be loaded: "), std::string::npos) << r.path << ": " << text;
      EXPECT_NE(message.find(bad.reason), std::string::npos) << r.path << ": " << text;
    }
  }
  expect_good_model_serves();
  const json ps = server_->get("/api/ps");
  ASSERT_EQ(ps["models"].size(), 1u) << "no bad file got a runner: " << ps.dump();
  EXPECT_EQ(ps["models"][0]["name"], "good");
}

// A file rewritten in place is validated again: a good file that goes bad stops serving, with
// its reason, and serves again once it is repaired.
TEST_F(Validate, AFileThatGoesBadIsRefusedAndServesAgainWhenRepaired) {
  const fs::path file = *dir_ / "changing.gguf";
  const std::string good = file_bytes(models_dir() / "tiny2.gguf");
  const auto corpus = bad_gguf_corpus(good);
  const BadGguf& bad =
      *std::find_if(corpus.begin(), corpus.end(), [](const BadGguf& b) { return b.name == "five_dims"; });
  const json request = {{"model", "changing"}, {"prompt", "hi"}, {"stream", false}, {"options", {{"num_predict", 1}}}};
  // Same size each time: each write moves the mtime on by a second more, so that two writes
  // within the file system's timestamp granularity still differ.
  int writes = 0;
  const auto rewrite = [&](const std::string& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(++writes));
  };

  rewrite(good);
  ASSERT_EQ(server_->post("/api/generate", request).first, 200);

  rewrite(bad.bytes);
  const auto [status, text] = server_->post("/api/generate", request);
  EXPECT_EQ(status, 500) << text;
  EXPECT_NE(text.find(bad.reason), std::string::npos) << text;
  EXPECT_NE(tags()["changing:latest"].value("error", "").find(bad.reason), std::string::npos);

  rewrite(good);
  const auto [repaired, repaired_text] = server_->post("/api/generate", request);
  EXPECT_EQ(repaired, 200) << repaired_text;
  EXPECT_FALSE(tags()["changing:latest"].contains("error"));
  fs::remove(file);
  expect_good_model_serves();
}

// A GGUF uploaded as a blob is validated before create makes a model of it: a 400 with the reason.
TEST_F(Validate, CreateFromABadBlobIs400WithTheReason) {
  for (const BadGguf& bad : *corpus_) {
    SCOPED_TRACE(bad.name);
    const std::string digest = "sha256:" + sha256_hex(bad.bytes);
    httplib::Client c("127.0.0.1", server_->port());
    const auto uploaded = c.Post(("/api/blobs/" + digest).c_str(), bad.bytes, "application/octet-stream");
    ASSERT_TRUE(uploaded);
    ASSERT_EQ(uploaded->status, 201) << uploaded->body;
    const auto [status, text] = server_->post(
        "/api/create", {{"model", "me/" + bad.name}, {"files", {{"model.gguf", digest}}}, {"stream", false}});
    EXPECT_EQ(status, 400) << text;
    EXPECT_NE(text.find("supplied file was not in GGUF format"), std::string::npos) << text;
    EXPECT_NE(text.find(bad.reason), std::string::npos) << text;
    EXPECT_FALSE(tags().count("me/" + bad.name + ":latest"));
  }
  expect_good_model_serves();
}

}  // namespace
}  // namespace ebb::test
