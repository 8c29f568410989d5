// Ollama manifests: a real one's shape is read whole; every malformed one is one clear error; no
// digest names a file outside blobs/.
#include <gtest/gtest.h>

#include "common/model_details.h"
#include "store/manifest.h"

namespace ebb::store {
namespace {

const std::string kHex(64, 'a');
std::string digest(char c) { return "sha256:" + std::string(64, c); }

// The shape of `ollama pull llama3.2`'s manifest (digests shortened to repeated digits).
const std::string kLlama = R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
                           R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
                           digest('0') +
                           R"(","size":561},"layers":[)"
                           R"({"mediaType":"application/vnd.ollama.image.model","digest":")" +
                           digest('1') +
                           R"(","size":2019377376},)"
                           R"({"mediaType":"application/vnd.ollama.image.template","digest":")" +
                           digest('2') +
                           R"(","size":1429},)"
                           R"({"mediaType":"application/vnd.ollama.image.license","digest":")" +
                           digest('3') +
                           R"(","size":7711},)"
                           R"({"mediaType":"application/vnd.ollama.image.license","digest":")" +
                           digest('4') +
                           R"(","size":6016},)"
                           R"({"mediaType":"application/vnd.ollama.image.params","digest":")" +
                           digest('5') + R"(","size":96}]})";

TEST(Manifest, ReadsOllamasShape) {
  const Manifest m = Manifest::parse(kLlama);
  EXPECT_EQ(m.media_type, media::kManifest);
  EXPECT_EQ(m.config.media_type, media::kConfig);
  EXPECT_EQ(m.config.size, 561);
  ASSERT_EQ(m.layers.size(), 5u);
  ASSERT_NE(m.layer(media::kModel), nullptr);
  EXPECT_EQ(m.layer(media::kModel)->digest, digest('1'));
  EXPECT_EQ(m.layer(media::kModel)->size, 2019377376);
  EXPECT_EQ(m.layers_of(media::kLicense).size(), 2u);
  EXPECT_EQ(m.layer(media::kProjector), nullptr);
  EXPECT_EQ(m.size(), 561 + 2019377376 + 1429 + 7711 + 6016 + 96);
  EXPECT_EQ(m.digest, sha256_hex(kLlama));  // of the bytes as stored
}

TEST(Manifest, MalformedOnesAreOneClearError) {
  const std::string good_layer = R"({"mediaType":"x","digest":")" + digest('1') + R"(","size":1})";
  const std::string config = R"("config":)" + good_layer;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not JSON"},
      {"{", "not JSON"},
      {"[]", "not a JSON object"},
      {R"({"schemaVersion":1,)" + config + R"(,"layers":[]})", "schemaVersion is not 2"},
      {R"({"schemaVersion":"2",)" + config + R"(,"layers":[]})", "schemaVersion is not 2"},
      {R"({"schemaVersion":2,"layers":[]})", "no config"},
      {R"({"schemaVersion":2,)" + config + "}", "no layers array"},
      {R"({"schemaVersion":2,)" + config + R"(,"layers":{}})", "no layers array"},
      {R"({"schemaVersion":2,)" + config + R"(,"layers":[1]})", "layer 0 is not an object"},
      {R"({"schemaVersion":2,)" + config + R"(,"layers":[{"digest":")" + digest('1') + R"(","size":1}]})",
       "layer 0 has no 'mediaType'"},
      {R"({"schemaVersion":2,)" + config + R"(,"layers":[{"mediaType":"x","digest":"sha256:abc","size":1}]})",
       "is not sha256:<64 hex digits>"},
      {R"({"schemaVersion":2,)" + config + R"(,"layers":[{"mediaType":"x","digest":")" + digest('1') +
           R"(","size":-1}]})",
       "layer 0 has no size"},
      {R"({"schemaVersion":2,)" + config + R"(,"layers":[{"mediaType":"x","digest":")" + digest('1') +
           R"(","size":"1"}]})",
       "layer 0 has no size"},
      {R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"../../etc/passwd","size":1},"layers":[]})",
       "config digest '../../etc/passwd'"},
  };
  for (const auto& [text, message] : cases) {
    try {
      Manifest::parse(text);
      ADD_FAILURE() << "parsed: " << text;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what() << " for " << text;
    }
  }
}

TEST(Manifest, BlobFileNames) {
  EXPECT_EQ(blob_file_name("sha256:" + kHex), "sha256-" + kHex);
  EXPECT_EQ(blob_file_name("sha256-" + kHex), "sha256-" + kHex);
  EXPECT_EQ(blob_file_name("sha256:" + std::string(64, 'F')), "sha256-" + std::string(64, 'F'));
  for (const std::string& bad : std::vector<std::string>{
           "", "sha256:", "sha256:" + kHex.substr(1), "sha256:" + kHex + "0", "sha512:" + kHex, "sha256/" + kHex,
           "sha256:" + kHex.substr(2) + "/.", "sha256:" + kHex.substr(2) + "..", "sha256:" + kHex.substr(1) + "g"})
    EXPECT_FALSE(blob_file_name(bad)) << bad;
}

}  // namespace
}  // namespace ebb::store
