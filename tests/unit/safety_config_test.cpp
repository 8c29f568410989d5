// The API guards' settings: their parsers and the [server] keys that carry them.
#include <gtest/gtest.h>

#include "common/config.h"
#include "common/safety_settings.h"

using namespace std::chrono_literals;

namespace {

#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

std::string config_error(const std::string& toml) {
  try {
    ebb::parse_config_string(toml, "ebb.toml");
  } catch (const ebb::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << toml;
  return "";
}

std::string invalid_argument(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::invalid_argument";
  return "";
}

TEST(SafetyConfig, Defaults) {
  const ebb::ServerConfig s = ebb::parse_config_string("").server;
  EXPECT_EQ(s.api_key, "");
  EXPECT_EQ(s.api_key_scope, ebb::ApiKeyScope::All);
  EXPECT_TRUE(s.metrics_require_key);
  EXPECT_TRUE(s.origins.empty());
  EXPECT_EQ(s.max_body, 64ull << 20);
  EXPECT_EQ(s.shutdown_timeout, 10s);
}

TEST(SafetyConfig, ReadsEveryKey) {
  const ebb::ServerConfig s = ebb::parse_config_string(R"(
[server]
api_key = "s3cret-key"
api_key_scope = "admin"
metrics_require_key = false
origins = "https://app.example.com, http://tools.example:*"
max_body = "1MiB"
shutdown_timeout = "30s"
)")
                                  .server;
  EXPECT_EQ(s.api_key, "s3cret-key");
  EXPECT_EQ(s.api_key_scope, ebb::ApiKeyScope::Admin);
  EXPECT_FALSE(s.metrics_require_key);
  EXPECT_EQ(s.origins, (std::vector<std::string>{"https://app.example.com", "http://tools.example:*"}));
  EXPECT_EQ(s.max_body, 1u << 20);
  EXPECT_EQ(s.shutdown_timeout, 30s);
}

TEST(SafetyConfig, OriginsMayBeAnArray) {
  const auto s = ebb::parse_config_string("[server]\norigins = [\"https://A.example\", \"*\"]\n").server;
  EXPECT_EQ(s.origins, (std::vector<std::string>{"https://a.example", "*"}));
}

TEST(SafetyConfig, BadValuesNameFileLineAndKey) {
  EXPECT_CONTAINS(config_error("[server]\napi_key_scope = \"some\"\n"), "ebb.toml:2: server.api_key_scope");
  EXPECT_CONTAINS(config_error("[server]\napi_key_scope = \"some\"\n"), "expected all or admin");
  EXPECT_CONTAINS(config_error("[server]\napi_key = \"\"\n"), "server.api_key: the API key must not be empty");
  EXPECT_CONTAINS(config_error("[server]\napi_key = \"has space\"\n"), "printable ASCII without spaces");
  EXPECT_CONTAINS(config_error("[server]\nmetrics_require_key = \"yes\"\n"), "server.metrics_require_key");
  EXPECT_CONTAINS(config_error("[server]\norigins = \"example.com\"\n"), "not scheme://host[:port]");
  EXPECT_CONTAINS(config_error("[server]\norigins = [1]\n"), "server.origins: expected a string");
  EXPECT_CONTAINS(config_error("[server]\norigins = 5\n"), "server.origins");
  EXPECT_CONTAINS(config_error("[server]\nmax_body = 0\n"), "server.max_body: must be at least 1 byte");
  EXPECT_CONTAINS(config_error("[server]\nmax_body = \"lots\"\n"), "server.max_body");
  EXPECT_CONTAINS(config_error("[server]\nshutdown_timeout = -1\n"), "server.shutdown_timeout");
  EXPECT_CONTAINS(config_error("[server]\napi_keys = \"x\"\n"), "unknown key");
}

TEST(SafetyConfig, ErrorsNeverRepeatTheKey) {
  const std::string e = config_error("[server]\napi_key = \"secret with a space\"\n");
  EXPECT_EQ(e.find("secret"), std::string::npos) << e;
}

TEST(SafetySettings, Scope) {
  EXPECT_EQ(ebb::parse_api_key_scope("all"), ebb::ApiKeyScope::All);
  EXPECT_EQ(ebb::parse_api_key_scope("ADMIN"), ebb::ApiKeyScope::Admin);
  EXPECT_CONTAINS(invalid_argument([] { ebb::parse_api_key_scope("admins"); }), "expected all or admin, got 'admins'");
}

TEST(SafetySettings, Bool) {
  for (const char* t : {"1", "true", "Yes", "ON"}) EXPECT_TRUE(ebb::parse_bool_text(t)) << t;
  for (const char* t : {"0", "false", "No", "off"}) EXPECT_FALSE(ebb::parse_bool_text(t)) << t;
  EXPECT_THROW(ebb::parse_bool_text("maybe"), std::invalid_argument);
  EXPECT_THROW(ebb::parse_bool_text(""), std::invalid_argument);
}

TEST(SafetySettings, OriginList) {
  EXPECT_EQ(ebb::parse_origin_list(" 'https://a.example' ,, \"http://b.example:8080\","),
            (std::vector<std::string>{"https://a.example", "http://b.example:8080"}));
  EXPECT_EQ(ebb::parse_origin_list("*"), (std::vector<std::string>{"*"}));
  EXPECT_TRUE(ebb::parse_origin_list("").empty());
  EXPECT_CONTAINS(invalid_argument([] { ebb::parse_origin_list("https://a.example/app"); }), "has a path");
  EXPECT_CONTAINS(invalid_argument([] { ebb::parse_origin_list("http://*.a.example:*"); }), "more than one '*'");
  EXPECT_CONTAINS(invalid_argument([] { ebb::parse_origin_list("://x"); }), "not scheme://host");
}

TEST(SafetySettings, Limits) {
  EXPECT_EQ(ebb::checked_max_body(1), 1u);
  EXPECT_THROW(ebb::checked_max_body(0), std::invalid_argument);
  EXPECT_EQ(ebb::checked_shutdown_timeout(0ms), 0ms);
  EXPECT_THROW(ebb::checked_shutdown_timeout(-1ms), std::invalid_argument);
  EXPECT_THROW(ebb::checked_api_key(std::string(1025, 'k')), std::invalid_argument);
  EXPECT_THROW(ebb::checked_api_key("tab\tkey"), std::invalid_argument);
  EXPECT_EQ(ebb::checked_api_key("k-1_2.3~"), "k-1_2.3~");
}

}  // namespace
