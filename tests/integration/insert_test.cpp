// Fill in the middle ("suffix", Ollama's "insert" capability) through a real serve: a model whose
// vocabulary has FIM tokens lays prompt and suffix out as llama-server's /infill does, a request
// template that reads .Suffix renders them, and a model with neither answers Ollama's 400.
#include <sstream>

#include "serve_fixture.h"

namespace ebb::test {
namespace {

class Insert : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const fs::path dir = scratch_dir("ebb-test-insert");
    run_capture(std::string(EBB_BIN) + " synth --out " + (dir / "fim.gguf").string() +
                " --params 20M --seed 3 --fim >/dev/null");
    fs::copy_file(models_dir() / "tiny.gguf", dir / "tiny.gguf");  // no FIM tokens
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
  // The whole prompt's tokens, as /v1/completions' usage counts them (cached ones included).
  static int prompt_tokens(const json& body) {
    return post_ok("/v1/completions", body)["usage"]["prompt_tokens"].get<int>();
  }
  static Server* server_;
};
Server* Insert::server_ = nullptr;

const json kGreedy = {{"temperature", 0}, {"num_predict", 4}};

TEST_F(Insert, ShowListsInsertForAModelWithFimTokens) {
  const auto caps = [](const std::string& m) {
    return json::parse(server_->post("/api/show", {{"model", m}}).second)["capabilities"];
  };
  EXPECT_EQ(caps("fim"), json({"completion", "insert"}));
  EXPECT_EQ(caps("tiny"), json({"completion"}));
}

TEST_F(Insert, FimTokensLayOutPromptAndSuffix) {
  const std::string prefix = "def add(a, b):\n    return", suffix = "\n\nprint(add(1, 2))\n";
  const json answer =
      post_ok("/api/generate",
              {{"model", "fim"}, {"prompt", prefix}, {"suffix", suffix}, {"stream", false}, {"options", kGreedy}});
  EXPECT_EQ(answer["done"], true) << answer.dump();
  EXPECT_EQ(answer["eval_count"], 4) << answer.dump();

  // BOS <fim_prefix> prefix <fim_suffix> suffix <fim_middle>: each raw count below holds a BOS.
  const int p = prompt_tokens({{"model", "fim"}, {"prompt", prefix}, {"max_tokens", 1}});
  const int s = prompt_tokens({{"model", "fim"}, {"prompt", suffix}, {"max_tokens", 1}});
  EXPECT_EQ(prompt_tokens({{"model", "fim"}, {"prompt", prefix}, {"suffix", suffix}, {"max_tokens", 1}}), p + s + 2);

  // The same request, streamed, generates the same text (greedy).
  auto [status, text] =
      server_->post("/api/generate", {{"model", "fim"}, {"prompt", prefix}, {"suffix", suffix}, {"options", kGreedy}});
  ASSERT_EQ(status, 200) << text;
  std::string streamed;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l);) streamed += json::parse(l).value("response", "");
  EXPECT_EQ(streamed, answer["response"]);
}

TEST_F(Insert, ATemplateThatReadsSuffixGivesInsert) {
  const json body = {{"model", "tiny"}, {"prompt", "def f("},
                     {"suffix", "):"},  {"template", "<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>"},
                     {"stream", false}, {"options", kGreedy}};
  const json answer = post_ok("/api/generate", body);
  EXPECT_EQ(answer["done"], true);
  // The model saw the template rendered with both parts: that text sent raw has as many tokens (cached
  // ones counted; this is the suite's first prompt to tiny, so none was cached) and, greedy, the same answer.
  const std::string rendered = "<PRE> def f( <SUF>): <MID>";
  const json raw =
      post_ok("/api/generate",
              {{"model", "tiny"}, {"prompt", rendered}, {"raw", true}, {"stream", false}, {"options", kGreedy}});
  EXPECT_EQ(answer["prompt_eval_count"].get<int>(),
            prompt_tokens({{"model", "tiny"}, {"prompt", rendered}, {"max_tokens", 1}}))
      << answer.dump();
  EXPECT_EQ(answer["response"], raw["response"]);
}

TEST_F(Insert, AModelWithoutItIs400) {
  auto [status, text] = server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "a"}, {"suffix", "b"}});
  EXPECT_EQ(status, 400) << text;
  EXPECT_EQ(json::parse(text)["error"], "tiny:latest does not support insert");
  // Raw still needs the capability, as in Ollama (the suffix is then ignored).
  std::tie(status, text) =
      server_->post("/api/generate", {{"model", "tiny"}, {"prompt", "a"}, {"suffix", "b"}, {"raw", true}});
  EXPECT_EQ(status, 400) << text;
  std::tie(status, text) = server_->post("/v1/completions", {{"model", "tiny"}, {"prompt", "a"}, {"suffix", "b"}});
  EXPECT_EQ(status, 400) << text;
  EXPECT_EQ(json::parse(text)["error"]["message"], "tiny:latest does not support insert") << text;
  // An empty suffix is no suffix.
  std::tie(status, text) = server_->post(
      "/api/generate", {{"model", "tiny"}, {"prompt", "a"}, {"suffix", ""}, {"stream", false}, {"options", kGreedy}});
  EXPECT_EQ(status, 200) << text;
}

}  // namespace
}  // namespace ebb::test
