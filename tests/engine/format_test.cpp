// format "json" and JSON-schema formats: the grammar sampler makes even a random-weight synthetic
// model emit complete, parseable JSON; free-text sampling is unchanged.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../common/json_prefix.h"
#include "engine/batcher.h"
#include "engine/engine.h"
#include "engine/sampler.h"
#include "engine/synth.h"

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace ebb;
using namespace ebb::engine;
using ebb::test::is_json_prefix;

namespace {

struct Generation {
  std::string text;
  bool ended_by_eog = false;
  int tokens = 0;
};

class FormatTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/ebb-format-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    SynthSpec s;
    s.out = dir_ + "/m.gguf";
    s.params = 20'000'000;
    s.quant = "q8_0";
    s.ctx = 4096;
    synth_model(s);
    LoadParams p;
    p.path = s.out;
    p.num_ctx = 2048;
    p.num_gpu = 0;
    engine_ = new Engine(p);
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Decodes one sequence from a fresh KV cache until end-of-generation or max_tokens.
  static Generation generate(const SamplingOptions& o, int max_tokens, const std::string& prompt = "Reply in JSON:") {
    engine_->clear_sequence(0);
    SamplerPtr sampler = engine_->make_sampler(o);
    std::vector<Token> tokens = engine_->tokenize(prompt, true);
    Batcher batch(*engine_, static_cast<uint32_t>(tokens.size()));
    for (size_t k = 0; k < tokens.size(); ++k) batch.add(tokens[k], k, 0, k + 1 == tokens.size());
    size_t pos = tokens.size();
    Generation g;
    Token next = 0;
    for (; g.tokens < max_tokens; ++g.tokens) {
      if (batch.decode() != 0) ADD_FAILURE() << "decode failed";
      next = batch.sample(sampler, -1);
      if (engine_->is_eog(next)) {
        g.ended_by_eog = true;
        break;
      }
      g.text += engine_->piece(next);
      batch.clear();
      batch.add(next, pos++, 0, true);
    }
    return g;
  }

  static std::string dir_;
  static Engine* engine_;
};
std::string FormatTest::dir_;
Engine* FormatTest::engine_ = nullptr;

SamplingOptions greedy() {
  SamplingOptions o;
  o.temperature = 0.0f;
  return o;
}

TEST(FormatGrammar, FreeTextHasNoGrammar) {
  EXPECT_EQ(format_grammar(nullptr), "");
  EXPECT_EQ(format_grammar(""), "");
}

TEST(FormatGrammar, JsonAndSchemasBecomeGbnf) {
  std::string any = format_grammar("json");
  EXPECT_NE(any.find("root ::= object"), std::string::npos) << any;
  std::string schema =
      format_grammar(json::parse(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]})"));
  EXPECT_NE(schema.find("root ::="), std::string::npos) << schema;
  EXPECT_NE(schema.find("\\\"a\\\""), std::string::npos) << schema;
}

TEST(FormatGrammar, BadSchemasThrow) {
  EXPECT_THROW(format_grammar(json::parse(R"({"type":"nonsense"})")), std::runtime_error);
  EXPECT_THROW(format_grammar(json::parse(R"({"$ref":"#/definitions/missing"})")), std::runtime_error);
  EXPECT_THROW(format_grammar("yaml"), std::runtime_error);
}

TEST_F(FormatTest, BadSchemaFailsToBuildASampler) {
  SamplingOptions o = greedy();
  o.format = json::parse(R"({"type":"nonsense"})");
  EXPECT_THROW(engine_->make_sampler(o), std::runtime_error);
}

TEST(FormatJsonPrefix, AcceptsPrefixesOnly) {
  for (const char* ok : {"{", "{\"ab", "{\"a\": tr", "{\"a\": 12", "{\"a\":1,", "{}", "{\"a\": \"\\u12"})
    EXPECT_TRUE(is_json_prefix(ok)) << ok;
  for (const char* bad : {"x", "{\"a\" x", "{\"a\":1}}", "{,"}) EXPECT_FALSE(is_json_prefix(bad)) << bad;
}

// Random weights do not know to close a string, so an open-ended "json" object may run past any
// token limit; everything emitted must still be JSON so far, and finished output must parse.
TEST_F(FormatTest, JsonFormatEmitsOnlyJson) {
  int completed = 0;
  for (int64_t seed : {-2, 1, 2, 3, 4, 5}) {  // -2: greedy
    SamplingOptions o = greedy();
    if (seed > 0) {
      o.temperature = 0.8f;
      o.seed = seed;
    }
    o.format = "json";
    Generation g = generate(o, 300);
    ASSERT_FALSE(g.text.empty());
    EXPECT_EQ(g.text.find_first_not_of(" \n\t"), g.text.find('{')) << g.text;
    EXPECT_TRUE(is_json_prefix(g.text)) << "seed " << seed << ": " << g.text;
    if (g.ended_by_eog) {
      EXPECT_TRUE(json::parse(g.text).is_object()) << g.text;
      ++completed;
    }
  }
  EXPECT_GE(completed, 1) << "no sample closed its object within 300 tokens";
}

// A schema with bounded strings and arrays always closes, whatever the weights.
TEST_F(FormatTest, BoundedSchemaCompletes) {
  const json schema = json::parse(R"({"type":"object","properties":{
      "name":{"type":"string","maxLength":12},
      "ok":{"type":"boolean"},
      "tags":{"type":"array","items":{"type":"string","maxLength":4},"maxItems":3}},
    "required":["name","ok","tags"]})");
  for (int64_t seed : {-2, 11, 12}) {
    SamplingOptions o = greedy();
    if (seed > 0) {
      o.temperature = 1.0f;
      o.seed = seed;
    }
    o.format = schema;
    Generation g = generate(o, 300);
    ASSERT_TRUE(g.ended_by_eog) << g.tokens << " tokens: " << g.text;
    json parsed = json::parse(g.text);
    ASSERT_TRUE(parsed.is_object()) << g.text;
    EXPECT_TRUE(parsed["name"].is_string()) << g.text;
    EXPECT_LE(parsed["name"].get<std::string>().size(), 12u * 4) << g.text;  // 12 code points
    EXPECT_TRUE(parsed["ok"].is_boolean()) << g.text;
    EXPECT_TRUE(parsed["tags"].is_array()) << g.text;
    EXPECT_LE(parsed["tags"].size(), 3u) << g.text;
  }
}

TEST_F(FormatTest, SchemaWithRequiredIntegerIsFollowed) {
  for (float temperature : {0.0f, 1.0f}) {
    SamplingOptions o;
    o.temperature = temperature;
    o.seed = 7;
    o.format = json::parse(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]})");
    Generation g = generate(o, 200);
    ASSERT_TRUE(g.ended_by_eog) << g.text;
    json parsed = json::parse(g.text);
    ASSERT_TRUE(parsed.is_object()) << g.text;
    EXPECT_EQ(parsed.size(), 1u) << g.text;
    ASSERT_TRUE(parsed.contains("a")) << g.text;
    EXPECT_TRUE(parsed["a"].is_number_integer()) << g.text;
  }
}

TEST_F(FormatTest, FreeTextSamplingStillRuns) {
  SamplingOptions o = greedy();
  Generation a = generate(o, 24, "Hello");
  Generation b = generate(o, 24, "Hello");
  EXPECT_FALSE(a.text.empty());
  EXPECT_EQ(a.text, b.text);  // greedy is deterministic
  o.temperature = 0.8f;
  o.seed = 5;
  EXPECT_GT(generate(o, 24, "Hello").tokens, 0);
}

}  // namespace
