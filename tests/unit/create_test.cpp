// Creating a model in the store as Ollama's create does: layers from a base model or uploaded GGUF
// blobs, replaced and merged; the config from the GGUF header; quantizing through an injected
// quantizer; the same manifest from a Modelfile as from its JSON form; bad requests refused.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "../common/file_bytes.h"
#include "../common/scratch_dir.h"
#include "common/model_details.h"
#include "store/create.h"
#include "tiny_gguf.h"

namespace ebb::store {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const Quantizer kNoQuantizer = [](const fs::path&, const fs::path&, const std::string&,
                                  const std::function<void(int, int)>&) { FAIL() << "quantizer called"; };

struct Fixture {
  fs::path root = ebb::test::scratch_dir("ebb-create");
  StoreWriter w{Store(root), false};
  std::vector<json> events;
  Progress progress = [this](const json& j) { events.push_back(j); };

  std::string upload(const std::string& bytes) {
    const std::string digest = "sha256:" + sha256_hex(bytes);
    bool sent = false;
    w.upload_blob(digest, [&](std::string& out) {
      if (sent) return false;
      out = bytes;
      return sent = true;
    });
    return digest;
  }
  Manifest manifest(const std::string& name) {
    auto m = w.store().find(ModelName::parse(name));
    if (!m || !m->manifest) throw std::runtime_error("no manifest for " + name);
    EXPECT_EQ(m->error, "") << name;
    return *m->manifest;
  }
  std::string blob(const Layer* l) { return l ? test::file_bytes(*w.store().blob_path(l->digest)) : "(no layer)"; }
  std::vector<std::string> statuses() {
    std::vector<std::string> s;
    for (const auto& e : events) s.push_back(e.value("status", ""));
    return s;
  }
  void create(const json& body, const Quantizer& q = kNoQuantizer) {
    create_model(w, CreateRequest::from_json(body), q, progress);
  }
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong error type: ") + e.what();
  }
  return "no error";
}

TEST(Create, FromAnUploadedGgufWithEveryLayer) {
  Fixture f;
  const std::string gguf = ebb::test::tiny_gguf("llama", 1, "tiny");
  const std::string digest = f.upload(gguf);
  f.create({{"model", "me/new"},
            {"files", {{"tiny.gguf", digest}}},
            {"template", "{{ .Prompt }}"},
            {"system", "be brief"},
            {"parameters", {{"temperature", 0.5}, {"stop", "END"}, {"num_ctx", 2048}}},
            {"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", "hello"}}}},
            {"license", {"MIT", "Apache"}}});

  const Manifest m = f.manifest("me/new");
  ASSERT_EQ(m.layers.size(), 7u);
  EXPECT_EQ(m.layers[0].media_type, media::kModel);
  EXPECT_EQ(m.layers[0].digest, digest);
  EXPECT_EQ(m.layers[0].size, static_cast<int64_t>(gguf.size()));
  EXPECT_EQ(m.layers[0].from, "tiny.gguf");
  EXPECT_EQ(f.blob(m.layer(media::kTemplate)), "{{ .Prompt }}");
  EXPECT_EQ(f.blob(m.layer(media::kSystem)), "be brief");
  ASSERT_EQ(m.layers_of(media::kLicense).size(), 2u);
  EXPECT_EQ(f.blob(m.layers_of(media::kLicense)[0]), "MIT");
  EXPECT_EQ(f.blob(m.layers_of(media::kLicense)[1]), "Apache");
  const json params = json::parse(f.blob(m.layer(media::kParams)));
  EXPECT_EQ(params, (json{{"temperature", 0.5}, {"stop", {"END"}}, {"num_ctx", 2048}}));
  EXPECT_TRUE(params["num_ctx"].is_number_integer());
  EXPECT_EQ(json::parse(f.blob(m.layer(media::kMessages))),
            json::parse(R"([{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}])"));

  const json config = json::parse(f.blob(&m.config));
  EXPECT_EQ(config["model_format"], "gguf");
  EXPECT_EQ(config["model_family"], "llama");
  EXPECT_EQ(config["model_families"], json::array({"llama"}));
  EXPECT_EQ(config["file_type"], "F16");
  EXPECT_EQ(config["model_type"],
            model_details(read_gguf_header(f.w.store().blob_path(digest)->string()))["parameter_size"]);
  EXPECT_EQ(config["architecture"], "amd64");
  EXPECT_EQ(config["os"], "linux");
  ASSERT_EQ(config["rootfs"]["type"], "layers");
  ASSERT_EQ(config["rootfs"]["diff_ids"].size(), 7u);
  for (size_t i = 0; i < m.layers.size(); ++i) EXPECT_EQ(config["rootfs"]["diff_ids"][i], m.layers[i].digest);

  const auto s = f.statuses();
  EXPECT_EQ(s.front(), "parsing GGUF");
  EXPECT_TRUE(contains(s, "using existing layer " + digest));  // the upload
  EXPECT_TRUE(contains(s, "creating new layer " + m.layer(media::kSystem)->digest));
  ASSERT_GE(s.size(), 2u);
  EXPECT_EQ(s[s.size() - 2], "writing manifest");
  EXPECT_EQ(s.back(), "success");
}

TEST(Create, FromABaseModelKeepsReplacesAndMergesLayers) {
  Fixture f;
  const std::string digest = f.upload(ebb::test::tiny_gguf("qwen2", 1, "base"));
  f.create({{"model", "me/base"},
            {"files", {{"base.gguf", digest}}},
            {"template", "T1 {{ .Prompt }}"},
            {"system", "S1"},
            {"license", "L1"},
            {"parameters", {{"temperature", 0.5}, {"num_ctx", 4096}, {"stop", {"x"}}}}});
  const Manifest base = f.manifest("me/base");
  f.events.clear();
  f.create({{"model", "me/derived"}, {"from", "me/base"}, {"system", "S2"}, {"parameters", {{"temperature", 0.9}}}});

  const Manifest d = f.manifest("me/derived");
  EXPECT_EQ(d.layer(media::kModel)->digest, digest);
  EXPECT_EQ(d.layer(media::kModel)->from, "me/base:latest");
  EXPECT_EQ(d.layer(media::kTemplate)->digest, base.layer(media::kTemplate)->digest);
  EXPECT_EQ(f.blob(d.layer(media::kSystem)), "S2");
  EXPECT_EQ(d.layers_of(media::kSystem).size(), 1u);
  EXPECT_EQ(f.blob(d.layer(media::kLicense)), "L1");
  EXPECT_EQ(json::parse(f.blob(d.layer(media::kParams))),
            (json{{"temperature", 0.9}, {"num_ctx", 4096}, {"stop", {"x"}}}));
  EXPECT_EQ(json::parse(f.blob(&d.config))["model_family"], "qwen2");
  EXPECT_TRUE(contains(f.statuses(), "using existing layer " + digest));
  EXPECT_EQ(f.blob(f.manifest("me/base").layer(media::kSystem)), "S1");  // the base is untouched
}

TEST(Create, AModelfileMakesTheSameManifestAsItsJsonForm) {
  Fixture f;
  const fs::path dir = ebb::test::scratch_dir("ebb-modelfile");
  const std::string gguf = ebb::test::tiny_gguf("llama", 1, "mf");
  std::ofstream(dir / "m.gguf", std::ios::binary) << gguf;
  const Modelfile mf = Modelfile::parse(
      "FROM ./m.gguf\n"
      "PARAMETER temperature 0.25\n"
      "PARAMETER num_ctx 1024\n"
      "PARAMETER stop <|a|>\n"
      "PARAMETER stop <|b|>\n"
      "PARAMETER mirostat 1\n"  // deprecated: ignored, as Ollama
      "TEMPLATE \"\"\"{{ .System }} {{ .Prompt }}\"\"\"\n"
      "SYSTEM You are terse.\n"
      "MESSAGE user hi\n"
      "MESSAGE assistant hello\n"
      "LICENSE MIT\n");
  const auto files = modelfile_local_files(mf, dir);
  ASSERT_EQ(files, std::vector<fs::path>{dir / "m.gguf"});
  const std::string digest = f.upload(test::file_bytes(files[0]));
  const CreateRequest req = create_request(mf, dir, {{files[0], digest}}, "me/from-modelfile");
  EXPECT_EQ(req.parameters, (json{{"temperature", 0.25f}, {"num_ctx", 1024}, {"stop", {"<|a|>", "<|b|>"}}}));
  create_model(f.w, req, kNoQuantizer, f.progress);

  f.create({{"model", "me/from-json"},
            {"files", {{"m.gguf", digest}}},
            {"parameters", {{"temperature", 0.25f}, {"num_ctx", 1024}, {"stop", {"<|a|>", "<|b|>"}}}},
            {"template", "{{ .System }} {{ .Prompt }}"},
            {"system", "You are terse."},
            {"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", "hello"}}}},
            {"license", "MIT"}});
  const auto a = f.w.store().find(ModelName::parse("me/from-modelfile"));
  const auto b = f.w.store().find(ModelName::parse("me/from-json"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->manifest->layers.size(), 6u);
  EXPECT_EQ(test::file_bytes(a->manifest_file), test::file_bytes(b->manifest_file));
}

TEST(Create, AModelfileFromAModelName) {
  Fixture f;
  const std::string digest = f.upload(ebb::test::tiny_gguf("llama", 1, "named"));
  f.create({{"model", "base"}, {"files", {{"x.gguf", digest}}}});
  const fs::path dir = ebb::test::scratch_dir("ebb-modelfile");
  const Modelfile mf = Modelfile::parse("FROM base\nSYSTEM hi\n");
  EXPECT_TRUE(modelfile_local_files(mf, dir).empty());
  const CreateRequest req = create_request(mf, dir, {}, "child");
  EXPECT_EQ(req.from, "base");
  EXPECT_TRUE(req.files.empty());
  create_model(f.w, req, kNoQuantizer, f.progress);
  EXPECT_EQ(f.manifest("child").layer(media::kModel)->digest, digest);

  EXPECT_EQ(error_of<std::invalid_argument>(
                [&] { modelfile_local_files(Modelfile::parse("FROM base\nADAPTER ./a.gguf\n"), dir); }),
            "ADAPTER is not supported: ebb cannot serve a model with one");
  EXPECT_EQ(error_of<std::invalid_argument>(
                [&] { create_request(Modelfile::parse("FROM base\nADAPTER ./a.gguf\n"), dir, {}, "c"); }),
            "ADAPTER is not supported: ebb cannot serve a model with one");
  fs::create_directories(dir / "safetensors");
  EXPECT_NE(error_of<std::invalid_argument>([&] {
              modelfile_local_files(Modelfile::parse("FROM ./safetensors\n"), dir);
            }).find("is a directory"),
            std::string::npos);
  EXPECT_EQ(error_of<std::invalid_argument>(
                [&] { create_request(Modelfile::parse("FROM base\nPARAMETER top_k many\n"), dir, {}, "c"); }),
            "invalid int value 'many' for parameter 'top_k'");
}

TEST(Create, QuantizesThroughTheQuantizer) {
  Fixture f;
  const std::string f16 = ebb::test::tiny_gguf("llama", 1, "f16");
  const std::string q4 = ebb::test::tiny_gguf("llama", 2, "q4");
  const std::string digest = f.upload(f16);
  std::string asked;
  const Quantizer fake = [&](const fs::path& in, const fs::path& out, const std::string& type,
                             const std::function<void(int, int)>& progress) {
    EXPECT_EQ(test::file_bytes(in), f16);
    EXPECT_EQ(out.parent_path(), f.root / "blobs");
    asked = type;
    progress(1, 2);
    std::ofstream(out, std::ios::binary) << q4;
    progress(2, 2);
  };
  f.create({{"model", "me/q"}, {"files", {{"f16.gguf", digest}}}, {"quantize", "Q4_0"}}, fake);
  EXPECT_EQ(asked, "q4_0");
  const Manifest m = f.manifest("me/q");
  EXPECT_EQ(m.layer(media::kModel)->digest, "sha256:" + sha256_hex(q4));
  EXPECT_EQ(m.layer(media::kModel)->size, static_cast<int64_t>(q4.size()));
  EXPECT_EQ(f.blob(m.layer(media::kModel)), q4);
  EXPECT_EQ(json::parse(f.blob(&m.config))["file_type"], "Q4_0");
  const int64_t total = static_cast<int64_t>(f16.size());
  const json half = {{"status", "quantizing F16 model to Q4_0"},
                     {"digest", "0000000000000000000"},
                     {"total", total},
                     {"completed", total / 2}};
  EXPECT_NE(std::find(f.events.begin(), f.events.end(), half), f.events.end());
  EXPECT_TRUE(contains(f.statuses(), "creating new layer sha256:" + sha256_hex(q4)));
  for (const auto& e : fs::directory_iterator(f.root / "blobs"))  // no temporary file left
    EXPECT_EQ(e.path().filename().string().rfind("sha256-", 0), 0u) << e.path();
}

TEST(Create, AFailedQuantizeLeavesNothing) {
  Fixture f;
  const std::string digest = f.upload(ebb::test::tiny_gguf("llama", 1, "f16"));
  const Quantizer broken = [](const fs::path&, const fs::path& out, const std::string&,
                              const std::function<void(int, int)>&) {
    std::ofstream(out) << "half";
    throw std::runtime_error("quantizing failed: out of memory");
  };
  EXPECT_EQ(error_of<std::runtime_error>([&] {
              f.create({{"model", "me/q"}, {"files", {{"f.gguf", digest}}}, {"quantize", "q8_0"}}, broken);
            }),
            "quantizing failed: out of memory");
  const Quantizer garbage = [](const fs::path&, const fs::path& out, const std::string&,
                               const std::function<void(int, int)>&) { std::ofstream(out) << "not a gguf"; };
  EXPECT_NE(error_of<std::runtime_error>([&] {
              f.create({{"model", "me/q"}, {"files", {{"f.gguf", digest}}}, {"quantize", "q8_0"}}, garbage);
            }).find("not a valid GGUF"),
            std::string::npos);
  EXPECT_FALSE(f.w.store().find(ModelName::parse("me/q")));
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(f.root / "blobs")) {
    EXPECT_EQ(e.path().filename().string().rfind("sha256-", 0), 0u) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 1u);  // the upload
}

TEST(Create, RefusesBadRequestsClearly) {
  Fixture f;
  const std::string f16 = f.upload(ebb::test::tiny_gguf("llama", 1, "f16"));
  const std::string q4 = f.upload(ebb::test::tiny_gguf("llama", 2, "q4"));
  const std::string text = f.upload("just text");
  auto bad = [&](const json& body) { return error_of<std::invalid_argument>([&] { f.create(body); }); };
  EXPECT_EQ(bad({{"model", "m"}}), "neither 'from' or 'files' was specified");
  EXPECT_EQ(bad({{"model", "bad name!"}, {"from", "x"}}), "invalid model name");
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"../up.gguf", f16}}}}), "file path must be relative");
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"a.gguf", "sha256:12"}}}}), "invalid digest format");
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"a.gguf", "sha256:" + sha256_hex("never sent")}}}}),
            "blob sha256:" + sha256_hex("never sent") +
                " not found: upload it first (POST /api/blobs/sha256:" + sha256_hex("never sent") + ")");
  EXPECT_NE(bad({{"model", "m"}, {"files", {{"a.gguf", text}}}}).find("supplied file was not in GGUF format"),
            std::string::npos);
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"a.gguf", f16}}}, {"quantize", "q5_1"}}),
            "unsupported quantization type 'q5_1' (ebb can quantize to q4_0, q4_K_M, q8_0)");
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"a.gguf", q4}}}, {"quantize", "q8_0"}}),
            "quantization is only supported for F16, BF16 and F32 models (this one is Q4_0)");
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"a.gguf", f16}}}, {"adapters", {{"a.gguf", f16}}}}),
            "adapters are not supported: ebb cannot serve a model with one");
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"a.gguf", f16}}}, {"license", 5}}),
            "'license' must be a string or an array of strings");
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"a.gguf", f16}}}, {"messages", "hi"}}), "'messages' must be an array");
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"a.gguf", f16}}}, {"parameters", {{"top_k", "x"}}}}),
            "parameter 'top_k' must be an integer, got \"x\"");
  EXPECT_EQ(bad({{"model", "m"}, {"files", {{"a.gguf", f16}}}, {"system", 3}}), "'system' must be a string");
  EXPECT_NE(bad({{"model", "m"}, {"files", {{"a.gguf", f16}}}, {"template", "{{ .Prompt"}}).find("template error: "),
            std::string::npos);
  EXPECT_EQ(bad(json::array()), "the request body must be a JSON object");
  EXPECT_EQ(error_of<ModelNotFoundError>([&] {
              f.create({{"model", "m"}, {"from", "absent"}});
            }),
            "model 'absent' not found");
  EXPECT_FALSE(f.w.store().find(ModelName::parse("m")));

  StoreWriter ro(Store(f.root), true);
  EXPECT_NE(error_of<ReadOnlyStoreError>([&] {
              create_model(ro, CreateRequest::from_json({{"model", "m"}, {"files", {{"a.gguf", f16}}}}), kNoQuantizer,
                           f.progress);
            }).find("cannot create a model"),
            std::string::npos);
}

TEST(Create, ReplacingAModelDeletesTheBlobsOnlyItNamed) {
  Fixture f;
  const std::string digest = f.upload(ebb::test::tiny_gguf("llama", 1, "r"));
  f.create({{"model", "me/r"}, {"files", {{"r.gguf", digest}}}, {"system", "old"}});
  const fs::path old_system = *f.w.store().blob_path(f.manifest("me/r").layer(media::kSystem)->digest);
  ASSERT_TRUE(fs::exists(old_system));
  f.create({{"model", "ME/R"}, {"files", {{"r.gguf", digest}}}, {"system", "new"}});
  EXPECT_FALSE(fs::exists(old_system));
  EXPECT_EQ(f.blob(f.manifest("me/r").layer(media::kSystem)), "new");
  EXPECT_TRUE(fs::exists(*f.w.store().blob_path(digest)));
  EXPECT_FALSE(fs::exists(f.root / "manifests/registry.ollama.ai/ME"));  // the stored spelling was overwritten
}

}  // namespace
}  // namespace ebb::store
