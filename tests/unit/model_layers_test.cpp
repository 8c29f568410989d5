// A stored model's small layers: read from their blobs, printed back as Modelfile commands and as
// /api/show's parameters, and applied to requests in Ollama's order.
#include <gtest/gtest.h>

#include <fstream>

#include "../common/scratch_dir.h"
#include "api/model_defaults.h"
#include "common/model_details.h"
#include "store/model_layers.h"

namespace ebb::store {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// A store holding `layers` (type, bytes) as blobs, and the manifest naming them.
Manifest stored(const fs::path& root, const std::vector<std::pair<std::string_view, std::string>>& layers) {
  std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
                  R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:)" +
                  std::string(64, 'c') + R"(","size":2},"layers":[)";
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& [type, bytes] = layers[i];
    m += (i ? "," : "") + std::string(R"({"mediaType":")") + std::string(type) + R"(","digest":"sha256:)" +
         sha256_hex(bytes) + R"(","size":)" + std::to_string(bytes.size()) + "}";
    fs::create_directories(root / "blobs");
    std::ofstream(root / "blobs" / ("sha256-" + sha256_hex(bytes)), std::ios::binary) << bytes;
  }
  return Manifest::parse(m + "]}");
}

TEST(ModelLayers, ReadsEachLayerAndPrintsThemBack) {
  const fs::path root = ebb::test::scratch_dir("ebb-layers");
  const Manifest m =
      stored(root, {{media::kModel, "GGUF"},
                    {media::kTemplate, "{{ .System }} {{ .Prompt }}"},
                    {media::kSystem, "be brief"},
                    {media::kParams, R"({"stop":["<|end|>","\n\n"],"temperature":0.7,"num_ctx":2048})"},
                    {media::kMessages, R"([{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}])"},
                    {media::kLicense, "MIT"},
                    {media::kLicense, "line one\nline two"}});
  const ModelLayers l = read_model_layers(Store(root), m);
  EXPECT_TRUE(l.has_template);
  EXPECT_EQ(l.template_text, "{{ .System }} {{ .Prompt }}");
  EXPECT_EQ(l.system, "be brief");
  EXPECT_EQ(l.params["temperature"], 0.7);
  EXPECT_EQ(l.messages.size(), 2u);
  EXPECT_EQ(l.licenses, (std::vector<std::string>{"MIT", "line one\nline two"}));

  EXPECT_EQ(modelfile_commands(l),
            "TEMPLATE {{ .System }} {{ .Prompt }}\n"
            "SYSTEM be brief\n"
            "PARAMETER num_ctx 2048\n"
            "PARAMETER stop <|end|>\n"
            "PARAMETER stop \"\n\n\"\n"
            "PARAMETER temperature 0.7\n"
            "LICENSE MIT\n"
            "LICENSE \"line one\nline two\"\n"
            "MESSAGE user hi\n"
            "MESSAGE assistant hello\n");
  // Go's %#v: strings quoted with escapes, numbers bare.
  EXPECT_EQ(show_parameters_text(l.params),
            "num_ctx                        2048\n"
            "stop                           \"<|end|>\"\n"
            "stop                           \"\\n\\n\"\n"
            "temperature                    0.7");
}

TEST(ModelLayers, AMalformedLayerNamesItself) {
  const fs::path root = ebb::test::scratch_dir("ebb-layers");
  auto error_of = [&](std::string_view type, const std::string& bytes) -> std::string {
    try {
      read_model_layers(Store(root), stored(root, {{media::kModel, "G"}, {type, bytes}}));
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of(media::kParams, "[1]").find("params layer sha256:"), std::string::npos);
  EXPECT_NE(error_of(media::kParams, "{oops").find("not JSON"), std::string::npos);
  EXPECT_NE(error_of(media::kMessages, R"([{"role":"user"}])").find("not an array of {role, content}"),
            std::string::npos);
  Manifest missing = stored(root, {{media::kModel, "G"}});
  missing.layers.push_back({std::string(media::kSystem), "sha256:" + std::string(64, 'e'), 4, ""});
  EXPECT_THROW(read_model_layers(Store(root), missing), std::runtime_error);
}

supervisor::ModelEntry entry_with(const ModelLayers& layers, bool renders) {
  supervisor::ModelEntry e;
  e.name = "me/m:v1";
  e.stored.emplace();
  e.stored->layers = layers;
  e.stored->template_renders = renders;
  return e;
}

TEST(ModelDefaults, ParamsGoUnderTheRequestsOptions) {
  ModelLayers l;
  l.params = {{"temperature", 0.1}, {"num_predict", 7}, {"stop", {"x"}}, {"num_ctx", 1024}};
  auto r = api::parse_generate_request({{"model", "m"}, {"prompt", "p"}, {"options", {{"num_predict", 3}}}}, false);
  api::apply_model_defaults(r, entry_with(l, false));
  EXPECT_EQ(r.options.sampling.num_predict, 3);  // the request's own
  EXPECT_FLOAT_EQ(r.options.sampling.temperature, 0.1f);
  EXPECT_EQ(r.options.sampling.stop, std::vector<std::string>{"x"});
  EXPECT_EQ(r.options.context.num_ctx, 1024);
  EXPECT_EQ(r.runner_msg["options"]["num_predict"], 3);
  EXPECT_EQ(r.runner_msg["options"]["stop"], json({"x"}));

  // A param that cannot be an option is a clear error.
  l.params = {{"temperature", "hot"}};
  auto bad = api::parse_generate_request({{"model", "m"}, {"prompt", "p"}}, false);
  EXPECT_THROW(api::apply_model_defaults(bad, entry_with(l, false)), std::invalid_argument);
}

TEST(ModelDefaults, SystemMessagesAndTemplateInOllamasOrder) {
  ModelLayers l;
  l.system = "be brief";
  l.messages = json::array({{{"role", "user"}, {"content", "hi"}}, {{"role", "assistant"}, {"content", "hello"}}});
  l.has_template = true;
  l.template_text = "{{ .Prompt }}";

  auto gen = api::parse_generate_request({{"model", "m"}, {"prompt", "p"}}, false);
  api::apply_model_defaults(gen, entry_with(l, true));
  EXPECT_EQ(gen.runner_msg["system"], "be brief");
  EXPECT_EQ(gen.runner_msg["template"], "{{ .Prompt }}");
  EXPECT_EQ(gen.runner_msg["messages"], l.messages);  // before the prompt, as Ollama

  auto fim = api::parse_generate_request({{"model", "m"}, {"prompt", "p"}, {"suffix", "s"}}, false);
  api::apply_model_defaults(fim, entry_with(l, false));
  EXPECT_FALSE(fim.runner_msg.contains("messages"));  // Ollama renders only prompt and suffix
  EXPECT_EQ(fim.runner_msg["system"], "");

  auto own = api::parse_generate_request(
      {{"model", "m"}, {"prompt", "p"}, {"system", "mine"}, {"template", "{{ .System }}"}}, false);
  api::apply_model_defaults(own, entry_with(l, true));
  EXPECT_EQ(own.runner_msg["system"], "mine");
  EXPECT_EQ(own.runner_msg["template"], "{{ .System }}");

  auto raw = api::parse_generate_request({{"model", "m"}, {"prompt", "p"}, {"raw", true}}, false);
  api::apply_model_defaults(raw, entry_with(l, true));
  EXPECT_FALSE(raw.runner_msg.contains("template"));

  auto chat = api::parse_generate_request({{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "q"}}}}}, true);
  api::apply_model_defaults(chat, entry_with(l, false));
  const json& msgs = chat.runner_msg["messages"];
  ASSERT_EQ(msgs.size(), 4u) << msgs.dump();
  EXPECT_EQ(msgs[0]["role"], "system");
  EXPECT_EQ(msgs[0]["content"], "be brief");
  EXPECT_EQ(msgs[1]["content"], "hi");
  EXPECT_EQ(msgs[3]["content"], "q");
  EXPECT_FALSE(chat.runner_msg.contains("template"));  // not rendered by ebb: the GGUF's serves

  // A chat that starts with its own system message keeps it alone.
  auto sys = api::parse_generate_request(
      {{"model", "m"}, {"messages", {{{"role", "system"}, {"content", "s"}}, {{"role", "user"}, {"content", "q"}}}}},
      true);
  api::apply_model_defaults(sys, entry_with(l, false));
  EXPECT_EQ(sys.runner_msg["messages"].size(), 4u);
  EXPECT_EQ(sys.runner_msg["messages"][2]["content"], "s");
}

TEST(ModelDefaults, ARenderedTemplateDecidesCapabilities) {
  GgufInfo info;
  auto text = [](const std::string& s) {
    GgufValue v;
    v.type = GgufType::String;
    v.scalar = s;
    return v;
  };
  info.metadata["general.architecture"] = text("llama");
  info.metadata["tokenizer.chat_template"] =
      text("{% for m in messages %}{{ m.content }}{% endfor %}{% if tools %}{% endif %}");
  ModelLayers l;
  l.has_template = true;
  l.template_text = "<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>";
  EXPECT_EQ(api::entry_capabilities(entry_with(l, false), info),
            (std::vector<Capability>{Capability::Completion, Capability::Tools}));
  EXPECT_EQ(api::entry_capabilities(entry_with(l, true), info),
            (std::vector<Capability>{Capability::Completion, Capability::Insert}));
}

}  // namespace
}  // namespace ebb::store
