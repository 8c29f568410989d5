// The runner's request handling over its real protocol: requests are checked on arrival
// ("accepted" or an error with status 400), request templates and truncation, prompts longer
// than a batch, and embeddings (pooled in chunks exactly as llama.cpp pools a whole input, next
// to generation without disturbing it).
#include <gtest/gtest.h>
#include <llama.h>

#include <cmath>
#include <memory>

#include "engine/synth.h"
#include "test_support.h"

namespace ebb::test {
namespace {

json params(const std::string& path, uint32_t num_ctx = 512, uint32_t num_parallel = 2, uint32_t num_batch = 512) {
  return {{"path", path},
          {"num_ctx", num_ctx},
          {"num_parallel", num_parallel},
          {"num_batch", num_batch},
          {"num_thread", 2}};
}

const json kGreedy = {{"temperature", 0}, {"repeat_penalty", 1.0}, {"num_predict", 12}};

json gen(uint64_t id, const std::string& prompt, json extra = json::object()) {
  json m = {{"type", "generate"}, {"id", id}, {"prompt", prompt}, {"raw", true}, {"options", kGreedy}};
  m.update(extra);
  return m;
}

std::string words(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "w" + std::to_string(i) + " ";
  return s;
}

// A 20M embedding model (llama.pooling_type = mean), made once.
const std::string& embedding_model() {
  static const std::string path = [] {
    engine::SynthSpec s;
    s.out = fs::path(model_20m()).parent_path() / "m20-embed.gguf";
    s.params = 20'000'000;
    s.seed = 3;
    s.embedding_model = true;
    engine::synth_model(s);
    return s.out;
  }();
  return path;
}

// llama.cpp's own mean pooling of the whole input in one decode: the reference.
std::vector<float> reference_embedding(const std::string& path, const std::string& text, int* n_tokens) {
  auto mp = llama_model_default_params();
  std::unique_ptr<llama_model, decltype(&llama_model_free)> model(llama_model_load_from_file(path.c_str(), mp),
                                                                  llama_model_free);
  auto cp = llama_context_default_params();
  cp.n_ctx = 1024;
  cp.n_batch = cp.n_ubatch = 1024;
  cp.embeddings = true;
  cp.pooling_type = LLAMA_POOLING_TYPE_MEAN;
  cp.n_threads = cp.n_threads_batch = 2;
  std::unique_ptr<llama_context, decltype(&llama_free)> ctx(llama_init_from_model(model.get(), cp), llama_free);
  const llama_vocab* vocab = llama_model_get_vocab(model.get());
  std::vector<llama_token> tokens(1024);
  int n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(), 1024, true, true);
  *n_tokens = n;
  EXPECT_EQ(llama_decode(ctx.get(), llama_batch_get_one(tokens.data(), n)), 0);
  const float* e = llama_get_embeddings_seq(ctx.get(), 0);
  return std::vector<float>(e, e + llama_model_n_embd_out(model.get()));
}

TEST(RunnerServing, GenerateIsAcceptedBeforeItsTokens) {
  RunnerClient r;
  r.load(params(model_20m()));
  r.send(gen(1, "hello there"));
  json first = r.next_json();
  EXPECT_EQ(first.value("type", ""), "accepted");
  EXPECT_EQ(first.value("id", 0), 1);
  json done = r.wait_for("done");
  EXPECT_EQ(done.value("eval_count", 0), 12);
}

TEST(RunnerServing, RequestErrorsCarryStatus400) {
  RunnerClient r;
  r.load(params(model_20m(), 128));
  auto expect_400 = [&](json m, const std::string& needle) {
    r.send(m);
    json e = r.next_json();
    EXPECT_EQ(e.value("type", ""), "error") << e.dump();
    EXPECT_EQ(e.value("status", 0), 400) << e.dump();
    EXPECT_NE(e.value("message", "").find(needle), std::string::npos) << e.dump();
  };
  json bad_schema = kGreedy;
  bad_schema["format"] = {{"type", "nonsense"}};
  expect_400(gen(1, "x", {{"options", bad_schema}}), "schema");
  expect_400(gen(2, words(200), {{"truncate", false}}), "prompt is too long: ");
  expect_400(gen(3, "x", {{"raw", false}, {"template", "{{ .Nope }}"}}), "template");
  expect_400({{"type", "embed"}, {"id", 4}, {"inputs", {words(200)}}, {"truncate", false}}, "input is too long");
  // Truncation (the default) keeps the request going.
  json done = r.generate(gen(5, words(200)), nullptr);
  EXPECT_EQ(done.value("done_reason", ""), "length") << done.dump();
  EXPECT_LT(done.value("prompt_eval_count", 0), 128);
}

TEST(RunnerServing, RequestTemplateIsRendered) {
  RunnerClient r;
  r.load(params(model_20m()));
  json plain = r.generate(gen(1, "hi", {{"raw", false}}), nullptr);
  const std::string marker = "{{ .System }}" + std::string(40, '#') + " {{ .Prompt }} ###";
  json templated = r.generate(gen(2, "hi", {{"raw", false}, {"template", marker}}), nullptr);
  json raw = r.generate(gen(3, "hi", {{"raw", true}, {"template", marker}}), nullptr);
  EXPECT_GT(templated.value("prompt_eval_count", 0), plain.value("prompt_eval_count", 0) + 5);
  EXPECT_LT(raw.value("prompt_eval_count", 0), 5) << "raw bypasses the template";
}

TEST(RunnerServing, PromptLongerThanTheBatch) {
  RunnerClient r;
  r.load(params(model_20m(), 512, 1, 32));
  std::string text;
  json done = r.generate(gen(1, words(70)), &text);
  EXPECT_GE(done.value("prompt_eval_count", 0), 200);
  EXPECT_EQ(done.value("eval_count", 0), 12);
  EXPECT_FALSE(text.empty());
}

TEST(RunnerServing, EmbeddingsMatchLlamaCppPoolingAndAreDeterministic) {
  const std::string path = embedding_model();
  const std::string text = words(60);  // ~180 tokens: several 64-token chunks
  int n_text = 0;
  std::vector<float> want = reference_embedding(path, text, &n_text);
  ASSERT_GT(n_text, 128) << "the input should span several 64-token decodes";
  RunnerClient r;
  r.load(params(path, 512, 2, 512));
  r.send({{"type", "embed"}, {"id", 1}, {"inputs", {text, "short", text}}});
  json e = r.wait_for("embeddings");
  ASSERT_EQ(e["embeddings"].size(), 3u) << e.dump().substr(0, 300);
  auto got = e["embeddings"][0].get<std::vector<float>>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-3f * (1 + std::fabs(want[i]))) << i;
  EXPECT_EQ(e["embeddings"][0], e["embeddings"][2]);
  EXPECT_NE(e["embeddings"][0], e["embeddings"][1]);
  EXPECT_GT(e.value("prompt_eval_count", 0), 2 * n_text);
  r.send({{"type", "embed"}, {"id", 2}, {"inputs", {text}}});
  EXPECT_EQ(r.wait_for("embeddings")["embeddings"][0], e["embeddings"][0]);
}

TEST(RunnerServing, EmbeddingsBesideGenerationLeaveItUnchanged) {
  json long_gen = kGreedy;
  long_gen["num_predict"] = 64;
  std::string alone;
  {
    RunnerClient r;
    r.load(params(model_20m(), 512, 2));
    r.generate(gen(1, "tell me", {{"options", long_gen}}), &alone);
  }
  // The same generation in slot 0 while slot 1 embeds (a generative model embeds too, with mean
  // pooling). Embeddings get their own decodes, so slot 0's batches are exactly as before.
  RunnerClient r;
  r.load(params(model_20m(), 512, 2));
  r.send(gen(2, "tell me", {{"options", long_gen}}));
  r.send({{"type", "embed"}, {"id", 3}, {"inputs", {words(100), "b"}}});
  std::string beside;
  bool embedded = false, done = false;
  while (!done) {
    json m = r.next_json();
    ASSERT_TRUE(m.is_object() && !m.empty());
    std::string type = m.value("type", "");
    if (type == "token") beside += m.value("text", "");
    if (type == "embeddings") {
      embedded = true;
      EXPECT_EQ(m["embeddings"].size(), 2u);
      EXPECT_EQ(m["embeddings"][0].size(), m["embeddings"][1].size());
    }
    if (type == "done") done = true;
    ASSERT_NE(type, "error") << m.dump();
  }
  if (!embedded) {
    EXPECT_EQ(r.wait_for("embeddings").value("id", 0), 3);
  }
  EXPECT_EQ(beside, alone);
}

TEST(RunnerServing, CancelledEmbedFreesItsSlot) {
  RunnerClient r;
  r.load(params(model_20m(), 512, 1));
  std::vector<std::string> many(64, words(120));
  r.send({{"type", "embed"}, {"id", 1}, {"inputs", many}});
  r.send({{"type", "cancel"}, {"id", 1}});
  json d = r.wait_for("done");
  EXPECT_EQ(d.value("id", 0), 1);
  EXPECT_EQ(d.value("done_reason", ""), "cancelled");
  json done = r.generate(gen(2, "after"), nullptr);
  EXPECT_EQ(done.value("eval_count", 0), 12);
}

}  // namespace
}  // namespace ebb::test
