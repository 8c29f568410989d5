// Ollama-complete request handling against the real server: format, template, truncate,
// ignored fields, option types, error statuses, embeddings, cancellation and parallel slots.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "../common/json_prefix.h"
#include "common/gguf_reader.h"
#include "serve_fixture.h"

namespace ebb::test {
namespace {

const json kGreedy = {{"temperature", 0}, {"repeat_penalty", 1.0}, {"num_predict", 16}};

// An embedding GGUF (pooling mean) in a directory of its own, made once.
const fs::path& embedding_model() {
  static const fs::path dir = scratch_dir("ebb-test-embed");
  static const fs::path path = [] {
    fs::path p = dir / "embed.gguf";
    run_capture(std::string(EBB_BIN) + " synth --out " + p.string() +
                " --params 20M --quant q8_0 --seed 3 --embedding >/dev/null");
    return p;
  }();
  return path;
}

std::string words(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "w" + std::to_string(i) + " ";
  return s;
}

double norm(const json& v) {
  double s = 0;
  for (const auto& x : v) s += x.get<double>() * x.get<double>();
  return std::sqrt(s);
}

class Serving : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string tiny = (models_dir() / "tiny.gguf").string();
    auto model = [&](const std::string& name, const std::string& path, const std::string& extra) {
      return "[[model]]\nname = \"" + name + "\"\npath = \"" + path + "\"\n" + extra;
    };
    config_ = write_temp_file(model("par8", tiny, "num_ctx = 1024\nnum_parallel = 8\n") +
                              model("one", tiny, "num_ctx = 8192\nnum_parallel = 1\n") +
                              model("short", tiny, "num_ctx = 256\n") +
                              model("smallbatch", tiny, "num_ctx = 1024\nnum_batch = 32\n") +
                              model("emb", embedding_model().string(), "num_ctx = 512\n"));
    server_ = new Server({"--config", config_.string()});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    fs::remove(config_, ec);
  }
  static json ok(const std::string& path, const json& body) {
    auto [status, text] = server_->post(path, body);
    EXPECT_EQ(status, 200) << path << " " << body.dump() << " -> " << text;
    return json::parse(text, nullptr, false);
  }
  static Server* server_;
  static fs::path config_;
};
Server* Serving::server_ = nullptr;
fs::path Serving::config_;

TEST_F(Serving, SchemaFormatGivesParseableJson) {
  const json schema = {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}, {"required", {"a"}}};
  json opts = kGreedy;
  opts["num_predict"] = 64;
  json r = ok("/api/generate",
              {{"model", "tiny"}, {"prompt", "give me a"}, {"format", schema}, {"stream", false}, {"options", opts}});
  json parsed = json::parse(r.value("response", ""), nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << r.dump();
  EXPECT_TRUE(parsed["a"].is_number_integer()) << r.dump();
  // Chat, streamed: the concatenated message is the JSON.
  auto lines = server_->stream("/api/chat", {{"model", "tiny"},
                                             {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                                             {"format", schema},
                                             {"options", opts}});
  std::string text;
  for (const auto& l : lines)
    if (l.contains("message")) text += l["message"].value("content", "");
  EXPECT_TRUE(json::parse(text, nullptr, false).is_object()) << text;
}

TEST_F(Serving, JsonFormatGivesAJsonPrefixWhenCut) {
  json opts = kGreedy;
  opts["num_predict"] = 12;
  json r = ok("/api/generate",
              {{"model", "tiny"}, {"prompt", "json please"}, {"format", "json"}, {"stream", false}, {"options", opts}});
  std::string text = r.value("response", "");
  ASSERT_FALSE(text.empty());
  EXPECT_TRUE(is_json_prefix(text)) << text;
  EXPECT_FALSE(is_json_prefix("not json"));
}

TEST_F(Serving, BadFormatsAre400EvenWhenStreaming) {
  EXPECT_EQ(server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"format", 5}}).first, 400);
  EXPECT_EQ(server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"format", "yaml"}}).first, 400);
  // Only the runner can tell that this schema does not convert; the client still gets a 400.
  const json nonsense = {{"type", "nonsense"}};
  for (bool stream : {false, true}) {
    auto [status, text] =
        server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"format", nonsense}, {"stream", stream}});
    EXPECT_EQ(status, 400) << text;
    EXPECT_NE(json::parse(text, nullptr, false).value("error", "").find("schema"), std::string::npos) << text;
  }
}

TEST_F(Serving, RequestTemplateIsUsed) {
  json base = {{"model", "tiny"}, {"prompt", "hi"}, {"stream", false}, {"options", kGreedy}};
  json plain = ok("/api/generate", base);
  json with = base;
  with["template"] = "{{ if .System }}{{ .System }}{{ end }}" + std::string(60, '@') + " {{ .Prompt }} ==>";
  json templated = ok("/api/generate", with);
  EXPECT_GT(templated.value("prompt_eval_count", 0), plain.value("prompt_eval_count", 0) + 10) << templated.dump();
  // Chat messages render through it too (another marker: no prefix shared with the above).
  const std::string chat_template =
      "{{ range .Messages }}" + std::string(60, '%') + "{{ .Role }}: {{ .Content }}{{ end }}";
  json chat = {{"model", "tiny"},
               {"messages", {{{"role", "user"}, {"content", "hi"}}}},
               {"stream", false},
               {"options", kGreedy},
               {"template", chat_template}};
  EXPECT_GT(ok("/api/chat", chat).value("prompt_eval_count", 0), 20);

  auto [status, text] =
      server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "hi"}, {"template", "{{ .Unknown }}"}});
  EXPECT_EQ(status, 400);
  EXPECT_NE(json::parse(text).value("error", "").find(".Unknown"), std::string::npos) << text;
  EXPECT_EQ(server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "hi"}, {"template", 3}}).first, 400);
  EXPECT_EQ(
      server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "hi"}, {"template", "{{ if .Prompt }}"}}).first,
      400);
}

TEST_F(Serving, TruncateFalseRefusesAnOverlongPrompt) {
  json body = {{"model", "short"}, {"prompt", words(300)}, {"raw", true}, {"options", kGreedy}, {"truncate", false}};
  for (bool stream : {false, true}) {
    body["stream"] = stream;
    auto [status, text] = server_->post("/api/generate", body);
    EXPECT_EQ(status, 400) << text;
    EXPECT_NE(json::parse(text).value("error", "").find("prompt is too long"), std::string::npos) << text;
    EXPECT_NE(text.find("context is 256"), std::string::npos) << text;
  }
  body.erase("truncate");
  body["stream"] = false;
  json r = ok("/api/generate", body);
  EXPECT_LT(r.value("prompt_eval_count", 0), 256);
  EXPECT_EQ(server_->post("/api/generate", {{"model", "short"}, {"prompt", "x"}, {"truncate", "no"}}).first, 400);
}

TEST_F(Serving, UnsupportedFieldsAreIgnored) {
  json r = ok("/api/generate", {{"model", "tiny"},
                                {"prompt", "hi"},
                                {"stream", false},
                                {"options", kGreedy},
                                {"think", false},  // think: true is a 400 here (tools_test.cpp)
                                {"images", json::array()},
                                {"suffix", ""},  // a suffix needs FIM tokens (insert_test.cpp); empty is none
                                {"context", {1, 2, 3}},
                                {"whatever", {{"x", 1}}}});
  EXPECT_EQ(r.value("eval_count", 0), 16);
  json chat = {
      {"model", "tiny"},        {"messages", {{{"role", "user"}, {"content", "hi"}, {"images", json::array()}}}},
      {"tools", json::array()}, {"think", false},
      {"stream", false},        {"options", kGreedy}};
  EXPECT_EQ(ok("/api/chat", chat).value("eval_count", 0), 16);
}

TEST_F(Serving, WrongTypesAre400) {
  for (const json& options :
       {json{{"temperature", "hot"}}, json{{"num_ctx", "big"}}, json{{"stop", 5}}, json{{"seed", 1.5}}, json("x")}) {
    EXPECT_EQ(server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"options", options}}).first, 400)
        << options;
    EXPECT_EQ(server_->post("/api/chat", {{"model", "tiny"}, {"messages", json::array()}, {"options", options}}).first,
              400)
        << options;
    EXPECT_EQ(server_->post("/api/embed", {{"model", "emb"}, {"input", "x"}, {"options", options}}).first, 400)
        << options;
  }
  EXPECT_EQ(server_->post("/api/generate", {{"model", "tiny"}, {"prompt", 7}}).first, 400);
  EXPECT_EQ(server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"raw", "yes"}}).first, 400);
  EXPECT_EQ(server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"stream", 1}}).first, 400);
  EXPECT_EQ(server_->post("/api/chat", {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", 5}}}}}).first,
            400);
  EXPECT_EQ(server_->post("/api/embed", {{"model", "emb"}, {"input", 5}}).first, 400);
  EXPECT_EQ(server_->post("/api/embed", {{"model", "emb"}, {"input", {"a", 5}}}).first, 400);
  EXPECT_EQ(server_->post("/api/embed", {{"model", "emb"}, {"input", "a"}, {"truncate", 1}}).first, 400);
  EXPECT_EQ(server_->post("/api/embed", {{"model", "emb"}, {"input", "a"}, {"dimensions", -2}}).first, 400);
  EXPECT_EQ(server_->post("/api/embeddings", {{"model", "emb"}, {"prompt", {"a"}}}).first, 400);
  EXPECT_EQ(server_->post("/api/embed", {{"model", "nope"}, {"input", "a"}}).first, 404);
}

TEST_F(Serving, EmbedGivesNormalizedDeterministicVectors) {
  const uint64_t n_embd = read_gguf_header(embedding_model().string()).embedding_length().value_or(0);
  ASSERT_GT(n_embd, 0u);
  json a = ok("/api/embed", {{"model", "emb"}, {"input", {"hello world", "something else entirely", "hello world"}}});
  ASSERT_EQ(a["embeddings"].size(), 3u) << a.dump().substr(0, 200);
  for (const auto& v : a["embeddings"]) {
    EXPECT_EQ(v.size(), n_embd);
    EXPECT_NEAR(norm(v), 1.0, 1e-4);
  }
  EXPECT_EQ(a["embeddings"][0], a["embeddings"][2]);
  EXPECT_NE(a["embeddings"][0], a["embeddings"][1]);
  EXPECT_EQ(a["model"], "emb");
  EXPECT_GT(a.value("prompt_eval_count", 0), 6);
  for (const char* k : {"total_duration", "load_duration"}) EXPECT_TRUE(a[k].is_number_integer()) << k;
  json b = ok("/api/embed", {{"model", "emb"}, {"input", "hello world"}});
  EXPECT_EQ(b["embeddings"][0], a["embeddings"][0]);

  // The legacy endpoint: the same direction, not normalized.
  json legacy = ok("/api/embeddings", {{"model", "emb"}, {"prompt", "hello world"}});
  ASSERT_EQ(legacy["embedding"].size(), n_embd);
  const double len = norm(legacy["embedding"]);
  EXPECT_GT(std::fabs(len - 1.0), 1e-3);
  for (size_t i = 0; i < n_embd; i += 17)
    EXPECT_NEAR(legacy["embedding"][i].get<double>() / len, a["embeddings"][0][i].get<double>(), 1e-5);

  // dimensions: cut, then normalized again.
  json cut = ok("/api/embed", {{"model", "emb"}, {"input", "hello world"}, {"dimensions", 8}});
  ASSERT_EQ(cut["embeddings"][0].size(), 8u);
  EXPECT_NEAR(norm(cut["embeddings"][0]), 1.0, 1e-4);

  // No input only loads the model.
  EXPECT_EQ(ok("/api/embed", {{"model", "emb"}, {"input", json::array()}})["embeddings"], json::array());
  EXPECT_EQ(ok("/api/embeddings", {{"model", "emb"}, {"prompt", ""}})["embedding"], json::array());
}

TEST_F(Serving, EmbedTruncation) {
  json r = ok("/api/embed", {{"model", "emb"}, {"input", words(400)}});
  EXPECT_EQ(r.value("prompt_eval_count", 0), 512);
  auto [status, text] = server_->post("/api/embed", {{"model", "emb"}, {"input", words(400)}, {"truncate", false}});
  EXPECT_EQ(status, 400) << text;
  EXPECT_NE(text.find("input is too long"), std::string::npos) << text;
}

TEST_F(Serving, GenerativeModelsEmbedToo) {
  json r = ok("/api/embed", {{"model", "tiny"}, {"input", "a b c"}});
  ASSERT_EQ(r["embeddings"].size(), 1u);
  EXPECT_NEAR(norm(r["embeddings"][0]), 1.0, 1e-4);
  EXPECT_FALSE(
      server_->generate_text({{"model", "tiny"}, {"prompt", "still generates"}, {"options", kGreedy}}).empty());
}

TEST_F(Serving, PromptLongerThanTheBatch) {
  json r = ok("/api/generate",
              {{"model", "smallbatch"}, {"prompt", words(70)}, {"raw", true}, {"stream", false}, {"options", kGreedy}});
  EXPECT_GE(r.value("prompt_eval_count", 0), 200);
  EXPECT_EQ(r.value("eval_count", 0), 16);
}

TEST_F(Serving, EightParallelRequestsAllComplete) {
  std::vector<std::thread> clients;
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i)
    clients.emplace_back([&, i] {
      json body = {
          {"model", "par8"}, {"prompt", "client " + std::to_string(i)}, {"stream", false}, {"options", kGreedy}};
      auto [status, text] = server_->post("/api/generate", body);
      if (status == 200 && json::parse(text).value("eval_count", 0) == 16) ++good;
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), 8);
  // Repeated greedy requests give the same text.
  json body = {{"model", "par8"}, {"prompt", "same again"}, {"options", kGreedy}};
  EXPECT_EQ(server_->generate_text(body), server_->generate_text(body));
}

// Sends a request over a raw socket, then hangs up once it runs: a streaming one after its first
// chunk, another once the server counts it as busy on its model.
void start_and_abandon(const Server& s, const json& body) {
  int fd = send_generate_raw(s.port(), body);
  ASSERT_GE(fd, 0);
  if (body.value("stream", true)) {
    EXPECT_TRUE(read_first_chunk(fd));
  } else {
    EXPECT_TRUE(wait_until([&] {
      const json ps = s.get("/api/ps");
      for (const auto& m : ps["models"])
        if (m["name"] == body["model"] && m.value("busy", 0) > 0) return true;
      return false;
    }));
  }
  ::close(fd);
}

class ClosingTheConnection : public Serving, public ::testing::WithParamInterface<bool> {};

TEST_P(ClosingTheConnection, FreesTheSlot) {
  const bool stream = GetParam();
  ok("/api/generate", {{"model", "one"}});  // loaded
  json next = {{"model", "one"}, {"prompt", "next"}, {"stream", false}, {"options", kGreedy}};
  // What a 16-token request costs on a free slot, on this machine, right now.
  auto t_ref = std::chrono::steady_clock::now();
  ok("/api/generate", next);
  double reference = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_ref).count();
  // One slot and a generation that would run until its 8192-token context is full.
  json forever = {{"model", "one"},
                  {"prompt", "go on forever"},
                  {"stream", stream},
                  {"options", {{"temperature", 0}, {"num_predict", 100000}}}};
  start_and_abandon(*server_, forever);
  auto t0 = std::chrono::steady_clock::now();
  json r = ok("/api/generate", next);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.value("eval_count", 0), 16);
  // Had the abandoned request kept the slot, this one would have waited for ~8000 more tokens,
  // some 500 times the reference; a cancelled one frees the slot within a poll. The bound is a
  // ratio to the reference, so a loaded machine slows both sides alike.
  EXPECT_LT(seconds, std::max(1.0, 50 * reference))
      << "the abandoned request kept the only slot (reference " << reference << " s)";
}

INSTANTIATE_TEST_SUITE_P(Serving, ClosingTheConnection, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Streaming" : "NotStreaming"; });

}  // namespace
}  // namespace ebb::test
