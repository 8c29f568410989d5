// Model names parse, default and validate as Ollama's types/model/name.go does (its own test
// tables), and no valid name reaches a path outside the store.
#include <gtest/gtest.h>

#include "store/model_name.h"

namespace ebb::store {
namespace {

const std::string k80(80, '8'), k255(255, '5'), k350(350, '3');

struct Parts {
  std::string host, ns, model, tag, scheme;
};

TEST(ModelName, ParsesThePartsTheTextNames) {
  const std::vector<std::pair<std::string, Parts>> cases = {
      {"registry.ollama.ai/library/dolphin-mistral:7b-v2.6-dpo-laser-q6_K",
       {"registry.ollama.ai", "library", "dolphin-mistral", "7b-v2.6-dpo-laser-q6_K", ""}},
      {"scheme://host:port/namespace/model:tag", {"host:port", "namespace", "model", "tag", "scheme"}},
      {"host/namespace/model:tag", {"host", "namespace", "model", "tag", ""}},
      {"host:port/namespace/model:tag", {"host:port", "namespace", "model", "tag", ""}},
      {"host/namespace/model", {"host", "namespace", "model", "", ""}},
      {"host:port/namespace/model", {"host:port", "namespace", "model", "", ""}},
      {"namespace/model", {"", "namespace", "model", "", ""}},
      {"model", {"", "", "model", "", ""}},
      {"h/nn/mm:t", {"h", "nn", "mm", "t", ""}},
      {k80 + "/" + k80 + "/" + k80 + ":" + k80, {k80, k80, k80, k80, ""}},
      {k350 + "/" + k80 + "/" + k80 + ":" + k80, {k350, k80, k80, k80, ""}},
  };
  for (const auto& [text, want] : cases) {
    const ModelName n = ModelName::parse_bare(text);
    EXPECT_EQ(n.host, want.host) << text;
    EXPECT_EQ(n.ns, want.ns) << text;
    EXPECT_EQ(n.model, want.model) << text;
    EXPECT_EQ(n.tag, want.tag) << text;
    EXPECT_EQ(n.scheme, want.scheme) << text;
  }
}

TEST(ModelName, DefaultsFillWhatTheTextLeavesOut) {
  EXPECT_EQ(ModelName::parse("xx").full(), "registry.ollama.ai/library/xx:latest");
  EXPECT_EQ(ModelName::parse("me/xx").full(), "registry.ollama.ai/me/xx:latest");
  EXPECT_EQ(ModelName::parse("localhost:5000/me/xx:v1").full(), "localhost:5000/me/xx:v1");
  EXPECT_EQ(ModelName::parse("http://localhost:5000/me/xx").scheme, "http");
  EXPECT_EQ(ModelName::parse("xx").scheme, "https");
  EXPECT_EQ(ModelName::parse("host/namespace/model").manifest_path(),
            std::filesystem::path("host/namespace/model/latest"));
  EXPECT_EQ(ModelName::parse("model").manifest_path(),
            std::filesystem::path("registry.ollama.ai/library/model/latest"));
  // A part named and left empty is not filled in.
  EXPECT_FALSE(ModelName::parse("mm:").valid());
  EXPECT_FALSE(ModelName::parse("/nn/mm").valid());
  EXPECT_FALSE(ModelName::parse("n/:t").valid());
}

TEST(ModelName, ValidAsOllamaSays) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"", false},
      {"_why/_the/_lucky:_stiff", true},
      {"h/n/m:t", true},
      {"host/namespace/model:tag", true},
      {"host/namespace/model", false},
      {"namespace/model", false},
      {"model", false},
      {k80 + "/" + k80 + "/" + k80 + ":" + k80, true},
      {k255 + "/" + k80 + "/" + k80 + ":" + k80, true},
      {k255 + "5/" + k80 + "/" + k80 + ":" + k80, false},  // Ollama takes 350; a directory name cannot
      {k350 + "/" + k80 + "/" + k80 + ":" + k80, false},
      {k80 + "/" + k80 + "8/" + k80 + ":" + k80, false},
      {"h/nn/mm:t", true},
      {"m", false},
      {"n/m:", false},
      {"h/n/m", false},
      {"@t", false},
      {"m@d", false},
      {"^", false},
      {"mm:", false},
      {"/nn/mm", false},
      {"//", false},
      {"//mm", false},
      {"hh//", false},
      {"//mm:@", false},
      {"00@", false},
      {"@", false},
      {"-hh/nn/mm:tt", false},
      {"hh/-nn/mm:tt", false},
      {"hh/nn/-mm:tt", false},
      {"hh/nn/mm:-tt", false},
      {"host:https/namespace/model:tag", true},
      {"host/name:space/model:tag", false},
      {"host/name.space/model:tag", false},  // no '.' in a namespace
      {"host/ns/model.v2:tag.1", true},
  };
  for (const auto& [text, valid] : cases) {
    const ModelName n = ModelName::parse_bare(text);
    EXPECT_EQ(n.valid(), valid) << text;
    if (valid) {
      EXPECT_EQ(n.full(), text) << "round trip";
    }
  }
}

TEST(ModelName, NoValidNameLeavesTheStore) {
  for (const char* text : {"../../etc/passwd", "a/../b", "..", "./m", "h/../m:t", "h/n/..:t", "h/n/m:..", "h/n/m:a/b",
                           "h/n\\m:t", "h/n/m\n:t", "h/n/m:t\0x"}) {
    const ModelName n = ModelName::parse(text);
    if (!n.valid()) {
      EXPECT_THROW(n.manifest_path(), std::invalid_argument) << text;
      continue;
    }
    for (const auto& part : n.manifest_path()) {
      EXPECT_NE(part, "..") << text;
      EXPECT_NE(part, ".") << text;
    }
    EXPECT_TRUE(n.manifest_path().is_relative()) << text;
  }
}

TEST(ModelName, DisplayLeavesOutTheDefaults) {
  EXPECT_EQ(ModelName::parse("llama3.2").display(), "llama3.2:latest");
  EXPECT_EQ(ModelName::parse("me/m:v1").display(), "me/m:v1");
  EXPECT_EQ(ModelName::parse("localhost:5000/library/m").display(), "localhost:5000/library/m:latest");
  EXPECT_EQ(ModelName::parse("REGISTRY.ollama.ai/Library/m").display(), "m:latest");
}

TEST(ModelName, ComparedWithoutCase) {
  EXPECT_TRUE(ModelName::parse("Llama3:Latest").same_as(ModelName::parse("llama3")));
  EXPECT_FALSE(ModelName::parse("llama3:8b").same_as(ModelName::parse("llama3")));
}

}  // namespace
}  // namespace ebb::store
