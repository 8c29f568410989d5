#include "api/show.h"

#include <gtest/gtest.h>

#include "common/model_details.h"

namespace {

using json = nlohmann::json;
using ebb::GgufType;
using ebb::GgufValue;

GgufValue scalar(GgufType type, ebb::GgufScalar s) {
  GgufValue v;
  v.type = type;
  v.scalar = std::move(s);
  return v;
}
GgufValue str(std::string s) { return scalar(GgufType::String, std::move(s)); }
GgufValue u32(uint64_t v) { return scalar(GgufType::U32, v); }
GgufValue f32(float v) { return scalar(GgufType::F32, double{v}); }
GgufValue array(GgufType type, std::vector<ebb::GgufScalar> items, bool kept = true, uint64_t length = 0) {
  GgufValue v;
  v.type = GgufType::Array;
  v.array_type = type;
  v.array_length = length ? length : items.size();
  v.array_kept = kept;
  if (kept) v.array = std::move(items);
  return v;
}

const char* kTemplate =
    "{%- if tools %}{{ tools | tojson }}{% endif %}\n{% for m in messages %}{{ m.content }}{% endfor %}";

// A qwen2-like 0.5B header, as the registry reads it (the vocabulary is too long to keep).
ebb::GgufInfo qwen_header() {
  ebb::GgufInfo info;
  auto& m = info.metadata;
  m["general.architecture"] = str("qwen2");
  m["general.name"] = str("Qwen2.5 0.5B Instruct");
  m["general.file_type"] = u32(7);
  m["general.license"] = str("apache-2.0");
  m["qwen2.context_length"] = u32(32768);
  m["qwen2.embedding_length"] = u32(896);
  m["qwen2.attention.layer_norm_rms_epsilon"] = f32(1e-6f);
  m["qwen2.rope.freq_base"] = f32(1000000.0f);
  m["tokenizer.chat_template"] = str(kTemplate);
  m["tokenizer.ggml.model"] = str("gpt2");
  m["tokenizer.ggml.tokens"] = array(GgufType::String, {}, false, 151936);
  m["tokenizer.ggml.eos_token_ids"] = array(GgufType::U32, {uint64_t{151645}, uint64_t{151643}});
  m["tokenizer.ggml.empty"] = array(GgufType::U32, {});
  ebb::GgufTensorInfo embd;
  embd.name = "token_embd.weight";
  embd.n_dims = 2;
  embd.ne = {896, 151936, 1, 1};
  embd.type = 8;  // Q8_0
  embd.n_elements = 896ull * 151936;
  ebb::GgufTensorInfo norm;
  norm.name = "output_norm.weight";
  norm.n_dims = 1;
  norm.ne = {896, 1, 1, 1};
  norm.type = 0;  // F32
  norm.n_elements = 896;
  info.tensors = {embd, norm};
  return info;
}

ebb::supervisor::ModelEntry entry(const ebb::GgufInfo& info, bool from_config = false) {
  ebb::supervisor::ModelEntry e;
  e.name = "qwen";
  e.path = "/models/qwen.gguf";
  e.file_size = 531068256;
  e.mtime_ns = 1'764'180'422'825'000'000;
  e.info = info;
  e.from_config = from_config;
  if (from_config) {
    e.settings.num_ctx = 8192;
    e.settings.num_batch = 256;
    e.settings.num_thread = 4;
  }
  return e;
}

TEST(ShowModelInfo, OllamasKeysAndValues) {
  const json mi = ebb::api::show_model_info(qwen_header(), false);
  EXPECT_FALSE(mi.contains("general.name"));
  EXPECT_FALSE(mi.contains("tokenizer.chat_template"));
  EXPECT_EQ(mi["general.architecture"], "qwen2");
  EXPECT_EQ(mi["general.parameter_count"], 896ull * 151936 + 896);
  EXPECT_EQ(mi["general.file_type"], 7);
  EXPECT_EQ(mi["qwen2.context_length"], 32768);
  EXPECT_EQ(mi["qwen2.embedding_length"], 896);
  // f32 values at their shortest, as Go prints a float32.
  EXPECT_EQ(mi["qwen2.attention.layer_norm_rms_epsilon"].dump(), "1e-06");
  EXPECT_EQ(mi["qwen2.rope.freq_base"].get<double>(), 1000000.0);
  // Without verbose every non-empty array is null, as in Ollama; empty ones stay [].
  EXPECT_TRUE(mi["tokenizer.ggml.tokens"].is_null());
  EXPECT_TRUE(mi["tokenizer.ggml.eos_token_ids"].is_null());
  EXPECT_EQ(mi["tokenizer.ggml.empty"], json::array());
}

TEST(ShowModelInfo, VerboseHasTheArrays) {
  ebb::GgufInfo info = qwen_header();
  info.metadata["tokenizer.ggml.tokens"] = array(GgufType::String, {std::string("a"), std::string("b")});
  info.metadata["tokenizer.ggml.scores"] = array(GgufType::F32, {0.1f, -2.5}, true);
  const json mi = ebb::api::show_model_info(info, true);
  EXPECT_EQ(mi["tokenizer.ggml.tokens"], json({"a", "b"}));
  EXPECT_EQ(mi["tokenizer.ggml.eos_token_ids"], json({151645, 151643}));
  EXPECT_EQ(mi["tokenizer.ggml.scores"].dump(), "[0.1,-2.5]");
  // An array the reader did not keep cannot be shown.
  EXPECT_TRUE(ebb::api::show_model_info(qwen_header(), true)["tokenizer.ggml.tokens"].is_null());
}

TEST(ShowResponse, FieldsAndTypes) {
  const auto info = qwen_header();
  const json r = ebb::api::show_response(entry(info), info, false);
  EXPECT_EQ(r["details"], json({{"parent_model", ""},
                                {"format", "gguf"},
                                {"family", "qwen2"},
                                {"families", {"qwen2"}},
                                {"parameter_size", "136.14M"},
                                {"quantization_level", "Q8_0"}}));
  EXPECT_EQ(r["details"], ebb::model_details(info));
  EXPECT_EQ(r["capabilities"], json({"completion", "tools"}));
  EXPECT_EQ(r["template"], kTemplate);
  EXPECT_EQ(r["license"], "apache-2.0");
  EXPECT_EQ(r["modified_at"], "2025-11-26T18:07:02.825Z");
  EXPECT_TRUE(r["model_info"].is_object());
  EXPECT_FALSE(r.contains("parameters"));  // a file of the models directory: nothing configured
  EXPECT_FALSE(r.contains("system"));
  ASSERT_EQ(r["tensors"].size(), 2u);
  EXPECT_EQ(r["tensors"][0], json({{"name", "token_embd.weight"}, {"type", "Q8_0"}, {"shape", {896, 151936}}}));
  EXPECT_EQ(r["tensors"][1], json({{"name", "output_norm.weight"}, {"type", "F32"}, {"shape", {896}}}));
  EXPECT_EQ(r["modelfile"],
            "# Modelfile generated by \"ebb show\"\n"
            "# To build a new Modelfile based on this, replace FROM with:\n"
            "# FROM qwen:latest\n\n"
            "FROM /models/qwen.gguf\n"
            "TEMPLATE \"" +
                std::string(kTemplate) +
                "\"\n"
                "LICENSE apache-2.0\n");
  EXPECT_EQ(ebb::api::show_response(entry(info), info, false, "be brief")["system"], "be brief");
}

TEST(ShowResponse, ConfiguredModelsHaveParameters) {
  const auto info = qwen_header();
  const auto e = entry(info, true);
  EXPECT_EQ(ebb::api::show_parameters(e),
            "num_ctx                        8192\n"
            "num_batch                      256\n"
            "num_thread                     4");
  const json r = ebb::api::show_response(e, info, false);
  EXPECT_EQ(r["parameters"], ebb::api::show_parameters(e));
  const std::string mf = r["modelfile"];
  EXPECT_NE(mf.find("\nPARAMETER num_ctx 8192\nPARAMETER num_batch 256\nPARAMETER num_thread 4\n"), std::string::npos)
      << mf;
}

TEST(ShowResponse, EmbeddingModelsAndMissingKeys) {
  ebb::GgufInfo info;
  info.metadata["general.architecture"] = str("bert");
  info.metadata["bert.pooling_type"] = u32(2);
  const json r = ebb::api::show_response(entry(info), info, false);
  EXPECT_EQ(r["capabilities"], json({"embedding"}));
  EXPECT_FALSE(r.contains("template"));
  EXPECT_FALSE(r.contains("license"));
  EXPECT_EQ(r["details"]["parameter_size"], "0");
  EXPECT_EQ(r["details"]["quantization_level"], "unknown");
  EXPECT_EQ(r["modelfile"].get<std::string>().find("TEMPLATE"), std::string::npos);
}

TEST(ShowResponse, ModelfileQuotesLikeOllama) {
  ebb::GgufInfo info;
  info.metadata["general.architecture"] = str("llama");
  const auto modelfile_with = [&](const std::string& tmpl) {
    info.metadata["tokenizer.chat_template"] = str(tmpl);
    const std::string mf = ebb::api::show_modelfile(entry(info), info);
    const size_t at = mf.find("TEMPLATE ");
    return mf.substr(at + 9, mf.size() - at - 10);
  };
  EXPECT_EQ(modelfile_with("{{ prompt }}"), "{{ prompt }}");
  EXPECT_EQ(modelfile_with("a\nb"), "\"a\nb\"");
  EXPECT_EQ(modelfile_with(" lead"), "\" lead\"");
  EXPECT_EQ(modelfile_with("say \"hi\"\n"), "\"\"\"say \"hi\"\n\"\"\"");
}

TEST(TagEntry, SharesDetailsAndDigest) {
  const auto info = qwen_header();
  const json t = ebb::api::tag_entry(entry(info));
  EXPECT_EQ(t["name"], "qwen:latest");
  EXPECT_EQ(t["model"], "qwen:latest");
  EXPECT_EQ(t["size"], 531068256u);
  EXPECT_EQ(t["modified_at"], "2025-11-26T18:07:02.825Z");
  EXPECT_EQ(t["details"], ebb::api::show_response(entry(info), info, false)["details"]);
  const std::string digest = t["digest"];
  EXPECT_EQ(digest.size(), 64u);
  EXPECT_EQ(digest, ebb::model_digest("/models/qwen.gguf", 531068256, 1'764'180'422'825'000'000));
  // Another version of the file (size or time) has another digest.
  EXPECT_NE(digest, ebb::model_digest("/models/qwen.gguf", 531068256, 1'764'180'422'825'000'001));
  auto named = entry(info);
  named.name = "qwen2:7b";
  EXPECT_EQ(ebb::api::tag_entry(named)["name"], "qwen2:7b");
}

TEST(ModelDetails, Sha256) {
  EXPECT_EQ(ebb::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ebb::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
