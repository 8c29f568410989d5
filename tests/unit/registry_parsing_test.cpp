// The plain-text parts of the registry client: URLs for a model name (hf.co included), Location
// headers, WWW-Authenticate challenges, token answers, Docker's config.json, error bodies.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "../common/scratch_dir.h"
#include "store/docker_config.h"
#include "store/registry_auth.h"
#include "store/registry_http.h"
#include "store/registry_url.h"

namespace ebb::store {
namespace {

TEST(RegistryUrl, OllamaNameMapsToTheDistributionApi) {
  const auto n = ModelName::parse("llama3.2");
  EXPECT_EQ(registry_origin(n, false).origin(), "https://registry.ollama.ai");
  EXPECT_EQ(manifest_target(n), "/v2/library/llama3.2/manifests/latest");
  EXPECT_EQ(blob_target(n, "sha256:ab"), "/v2/library/llama3.2/blobs/sha256:ab");
  EXPECT_EQ(upload_target(n), "/v2/library/llama3.2/blobs/uploads/");
}

TEST(RegistryUrl, HuggingFaceNamesAreAHostNamedHfCo) {
  const auto n = ModelName::parse("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M");
  ASSERT_TRUE(n.valid());
  EXPECT_EQ(registry_origin(n, false).str() + manifest_target(n).substr(1),
            "https://hf.co/v2/bartowski/Llama-3.2-1B-Instruct-GGUF/manifests/Q4_K_M");
  const auto latest = ModelName::parse("hf.co/user/repo");
  EXPECT_EQ(manifest_target(latest), "/v2/user/repo/manifests/latest");
}

TEST(RegistryUrl, InsecureAndHttpNamesUseHttp) {
  const auto n = ModelName::parse("localhost:5000/me/m:v1");
  EXPECT_EQ(registry_origin(n, false).origin(), "https://localhost:5000");
  EXPECT_EQ(registry_origin(n, true).origin(), "http://localhost:5000");
  EXPECT_EQ(registry_origin(ModelName::parse("http://localhost:5000/me/m:v1"), false).origin(),
            "http://localhost:5000");
}

TEST(RegistryUrl, ParsesAndResolvesLocations) {
  auto u = parse_url("https://Reg.example:5000/v2/x?a=b#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "Reg.example:5000");
  EXPECT_EQ(u->target, "/v2/x?a=b");
  EXPECT_EQ(parse_url("https://h")->target, "/");
  EXPECT_FALSE(parse_url("ftp://h/x"));
  EXPECT_FALSE(parse_url("/just/a/path"));
  EXPECT_FALSE(parse_url("https:///x"));

  const Url base{"http", "127.0.0.1:5000", "/v2/me/m/blobs/uploads/"};
  EXPECT_EQ(resolve_location(base, "/v2/me/m/blobs/uploads/u1?_state=s")->str(),
            "http://127.0.0.1:5000/v2/me/m/blobs/uploads/u1?_state=s");
  EXPECT_EQ(resolve_location(base, "https://cdn.example/b?sig=1")->str(), "https://cdn.example/b?sig=1");
  EXPECT_EQ(resolve_location(base, "//cdn.example/b")->str(), "http://cdn.example/b");
  EXPECT_FALSE(resolve_location(base, ""));
  EXPECT_FALSE(resolve_location(base, "relative"));
}

TEST(RegistryUrl, AppendsQueryParametersToAnExistingQuery) {
  EXPECT_EQ(append_query("/up/1", "digest", "sha256:ab"), "/up/1?digest=sha256%3Aab");
  EXPECT_EQ(append_query("/up/1?_state=x", "digest", "sha256:ab"), "/up/1?_state=x&digest=sha256%3Aab");
  EXPECT_EQ(url_encode("repository:me/m:pull,push"), "repository%3Ame%2Fm%3Apull%2Cpush");
}

TEST(RegistryAuth, ParsesBearerChallenges) {
  auto c = parse_challenge(
      R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:me/m:pull,push")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params["realm"], "https://auth.example/token");
  EXPECT_EQ(c->params["service"], "registry.example");
  EXPECT_EQ(c->params["scope"], "repository:me/m:pull,push");
  auto url = token_url(*c);
  ASSERT_TRUE(url);
  EXPECT_EQ(url->str(), "https://auth.example/token?service=registry.example&scope=repository%3Ame%2Fm%3Apull%2Cpush");
}

TEST(RegistryAuth, ParsesBasicAndOddlySpacedChallenges) {
  auto c = parse_challenge(R"(Basic realm="Registry Realm")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->params["realm"], "Registry Realm");
  c = parse_challenge(R"(  BEARER  Realm = "https://a/t" , Service=reg , scope="a\"b" )");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params["realm"], "https://a/t");
  EXPECT_EQ(c->params["service"], "reg");
  EXPECT_EQ(c->params["scope"], "a\"b");
  // A second challenge ends the first.
  c = parse_challenge(R"(Basic realm="x", Bearer realm="y")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_EQ(c->params["realm"], "x");
  EXPECT_EQ(c->params.size(), 1u);
}

TEST(RegistryAuth, RejectsMalformedChallenges) {
  EXPECT_FALSE(parse_challenge(""));
  EXPECT_FALSE(parse_challenge("   "));
  EXPECT_FALSE(parse_challenge(R"(Bearer realm="unterminated)"));
  EXPECT_FALSE(parse_challenge(R"(Bearer realm="a" service="b")"));
  Challenge no_realm{"bearer", {{"service", "s"}}};
  EXPECT_FALSE(token_url(no_realm));
  Challenge bad_realm{"bearer", {{"realm", "file:///etc/passwd"}}};
  EXPECT_FALSE(token_url(bad_realm));
}

TEST(RegistryAuth, ReadsTokenAnswers) {
  EXPECT_EQ(token_from_answer(R"({"token":"t1","access_token":"t2"})"), "t1");
  EXPECT_EQ(token_from_answer(R"({"access_token":"t2"})"), "t2");
  EXPECT_FALSE(token_from_answer(R"({"token":""})"));
  EXPECT_FALSE(token_from_answer(R"({"token":5})"));
  EXPECT_FALSE(token_from_answer("not json"));
  EXPECT_EQ(basic_authorization({"user", "pa:ss"}), "Basic dXNlcjpwYTpzcw==");
}

TEST(DockerConfig, Base64RoundTrips) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "user:password\xff"}) {
    auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(base64_decode("a*b="));
}

TEST(DockerConfig, FindsCredentialsByHostInEveryKeyForm) {
  const auto config = nlohmann::json::parse(R"({"auths": {
    "plain.example": {"auth": ")" + base64_encode("u1:p1") +
                                            R"("},
    "https://url.example:5000/v1/": {"auth": ")" +
                                            base64_encode("u2:p:2") + R"("},
    "fields.example": {"username": "u3", "password": "p3"},
    "broken.example": {"auth": "***"},
    "empty.example": {}
  }})");
  auto c = docker_credentials(config, "plain.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "u1");
  EXPECT_EQ(c->password, "p1");
  c = docker_credentials(config, "URL.example:5000");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "u2");
  EXPECT_EQ(c->password, "p:2");
  c = docker_credentials(config, "fields.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->username, "u3");
  EXPECT_FALSE(docker_credentials(config, "url.example"));  // another port is another registry
  EXPECT_FALSE(docker_credentials(config, "broken.example"));
  EXPECT_FALSE(docker_credentials(config, "empty.example"));
  EXPECT_FALSE(docker_credentials(config, "other.example"));
  EXPECT_FALSE(docker_credentials(nlohmann::json::parse(R"({"auths": []})"), "plain.example"));
  EXPECT_FALSE(docker_credentials(nlohmann::json::parse("[]"), "plain.example"));
}

TEST(DockerConfig, ReadsDockerConfigDirectory) {
  static const auto dir = test::scratch_dir("ebb-docker-config");
  const char* old = std::getenv("DOCKER_CONFIG");
  const std::string saved = old ? old : "";
  ::setenv("DOCKER_CONFIG", dir.c_str(), 1);
  EXPECT_EQ(docker_config_path(), dir / "config.json");
  EXPECT_FALSE(docker_credentials("reg.example"));  // no file
  std::ofstream(dir / "config.json") << R"({"auths":{"reg.example":{"username":"me","password":"pw"}}})";
  auto c = docker_credentials("reg.example");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->password, "pw");
  std::ofstream(dir / "config.json") << "{not json";
  EXPECT_FALSE(docker_credentials("reg.example"));
  if (old)
    ::setenv("DOCKER_CONFIG", saved.c_str(), 1);
  else
    ::unsetenv("DOCKER_CONFIG");
}

TEST(RegistryHttp, NamesTheRegistrysErrorMessage) {
  EXPECT_EQ(registry_error_detail(
                R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v1"}}]})"),
            "manifest unknown");
  EXPECT_EQ(registry_error_detail(R"({"errors":[{"code":"DENIED"}]})"), "DENIED");
  EXPECT_EQ(registry_error_detail(R"({"error":"pull access denied"})"), "pull access denied");
  EXPECT_EQ(registry_error_detail("upstream went away\n"), "upstream went away");
  EXPECT_EQ(registry_error_detail("<html><body>502</body></html>"), "");
  EXPECT_EQ(registry_error_detail(std::string("\x01\x02", 2)), "");
  EXPECT_EQ(registry_error_detail(""), "");
  EXPECT_EQ(status_text(404), "Not Found");
  EXPECT_EQ(status_text(599), "");
}

}  // namespace
}  // namespace ebb::store
