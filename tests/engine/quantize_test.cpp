// ebb quantize: F16 synthetic models shrink, load, and keep their KV cost; bad input is refused
// before llama.cpp sees it.
#include "engine/quantize.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/synth.h"

namespace fs = std::filesystem;
using namespace ebb::engine;

namespace {

class QuantizeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/ebb-quantize-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    SynthSpec s;
    s.out = path("f16.gguf");
    s.params = 5'000'000;
    s.quant = "f16";
    s.ctx = 2048;
    synth_model(s);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string path(const std::string& name) { return dir_ + "/" + name; }

  static QuantizeSpec spec(const std::string& in, const std::string& out, const std::string& type) {
    QuantizeSpec s;
    s.input = in;
    s.output = out;
    s.type = type;
    return s;
  }

  static std::string error_of(const QuantizeSpec& spec) {
    try {
      quantize_file(spec);
    } catch (const QuantizeError& e) {
      return e.what();
    }
    return "";
  }

  static std::string dir_;
};
std::string QuantizeTest::dir_;

TEST(QuantizeTypes, NamesMapToFtypes) {
  EXPECT_EQ(quantize_ftype("q4_0"), 2u);
  EXPECT_EQ(quantize_ftype("Q4_K_M"), 15u);
  EXPECT_EQ(quantize_ftype("q4_k_m"), 15u);
  EXPECT_EQ(quantize_ftype("q5_K_M"), 17u);
  EXPECT_EQ(quantize_ftype("q8_0"), 7u);
  EXPECT_EQ(quantize_ftype("f16"), 1u);
  EXPECT_THROW(quantize_ftype("q9_9"), QuantizeError);
  EXPECT_THROW(quantize_ftype(""), QuantizeError);
}

TEST_F(QuantizeTest, ShrinksFileAndWeightsKeepsKv) {
  for (const char* type : {"q8_0", "q4_0", "q4_K_M"}) {
    const std::string out = path(std::string("out-") + type + ".gguf");
    int last_done = 0, last_total = 0, calls = 0;
    QuantizeSpec spec{path("f16.gguf"), out, type, 2, [&](int done, int total) {
                        EXPECT_EQ(done, last_done + 1);
                        last_done = done;
                        last_total = total;
                        ++calls;
                      }};
    quantize_file(spec);
    EXPECT_GT(calls, 0);
    EXPECT_EQ(last_done, last_total);
    EXPECT_FALSE(fs::exists(out + ".partial"));

    const ModelFacts before = inspect_model(path("f16.gguf"), 1024);
    const ModelFacts after = inspect_model(out, 1024);
    EXPECT_EQ(before.quantization, "F16");
    EXPECT_EQ(after.params, before.params);
    EXPECT_LT(after.file_bytes, before.file_bytes * 6 / 10) << type;
    EXPECT_LT(after.device.weights, before.device.weights) << type;
    EXPECT_EQ(after.device.kv, before.device.kv) << type;
    EXPECT_GT(after.device.kv, 0u);
    EXPECT_EQ(after.num_ctx, 1024u);
  }
  EXPECT_EQ(inspect_model(path("out-q8_0.gguf"), 1024).quantization, "Q8_0");
  EXPECT_EQ(inspect_model(path("out-q4_0.gguf"), 1024).quantization, "Q4_0");
  EXPECT_EQ(inspect_model(path("out-q4_K_M.gguf"), 1024).quantization, "Q4_K_M");
}

TEST_F(QuantizeTest, NumCtxIsCappedAtTraining) {
  EXPECT_EQ(inspect_model(path("f16.gguf"), 100000).num_ctx, 2048u);
  EXPECT_LT(inspect_model(path("f16.gguf"), 512).device.kv, inspect_model(path("f16.gguf"), 2048).device.kv);
}

TEST_F(QuantizeTest, RefusesBadInput) {
  const std::string in = path("f16.gguf");
  EXPECT_NE(error_of(spec(path("missing.gguf"), path("o.gguf"), "q4_0")).find("no such file"), std::string::npos);
  std::ofstream(path("text.gguf")) << "hello, not a model";
  EXPECT_NE(error_of(spec(path("text.gguf"), path("o.gguf"), "q4_0")).find("not a usable GGUF"), std::string::npos);
  {
    std::ifstream src(in, std::ios::binary);
    std::string head(100000, '\0');
    src.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(path("cut.gguf"), std::ios::binary) << head;
  }
  EXPECT_NE(error_of(spec(path("cut.gguf"), path("o.gguf"), "q4_0")).find("truncated"), std::string::npos);
  EXPECT_NE(error_of(spec(in, path("o.gguf"), "q7_0")).find("unknown quantization type"), std::string::npos);
  EXPECT_NE(error_of(spec(in, in, "q4_0")).find("different file"), std::string::npos);
  EXPECT_NE(error_of(spec(in, path("nodir/o.gguf"), "q4_0")).find("no such directory"), std::string::npos);
  quantize_file(spec(in, path("q8.gguf"), "q8_0"));
  EXPECT_NE(error_of(spec(path("q8.gguf"), path("o.gguf"), "q4_0")).find("already quantized (Q8_0)"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(path("o.gguf")));
  EXPECT_THROW(inspect_model(path("text.gguf"), 1024), QuantizeError);
}

}  // namespace
