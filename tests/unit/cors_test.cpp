// Which browser origins may call the API (api/cors.h): Ollama's defaults and the operator's list.
#include "api/cors.h"

#include <gtest/gtest.h>

namespace {

using ebb::api::allowed_origins;
using ebb::api::origin_allowed;
using ebb::api::origin_matches;

TEST(Cors, DefaultsAreLocalPagesAndAppShells) {
  const auto defaults = allowed_origins({});
  for (const char* o : {"http://localhost", "https://localhost", "http://localhost:3000", "https://127.0.0.1:8443",
                        "http://0.0.0.0:8080", "http://127.0.0.1", "app://obsidian.md", "file://", "tauri://localhost",
                        "vscode-webview://1abc", "vscode-file://vscode-app"})
    EXPECT_TRUE(origin_allowed(defaults, o)) << o;
  for (const char* o : {"https://evil.example", "http://localhost.evil.example", "http://127.0.0.2",
                        "chrome-extension://abc", "null", "", "http://[::1]:3000"})
    EXPECT_FALSE(origin_allowed(defaults, o)) << o;
  EXPECT_EQ(defaults.size(), 17u);  // 3 hosts × http/https × with/without port, 5 schemes
}

TEST(Cors, OperatorOriginsComeFirstAndAddToTheDefaults) {
  const auto origins = allowed_origins({"https://app.example.com"});
  EXPECT_EQ(origins.front(), "https://app.example.com");
  EXPECT_TRUE(origin_allowed(origins, "https://app.example.com"));
  EXPECT_TRUE(origin_allowed(origins, "http://localhost:5173"));
  EXPECT_FALSE(origin_allowed(origins, "https://app.example.com:444"));
  EXPECT_TRUE(origin_allowed(allowed_origins({"*"}), "https://anything.example"));
}

TEST(Cors, Wildcards) {
  EXPECT_TRUE(origin_matches("http://localhost:*", "http://localhost:1"));
  EXPECT_TRUE(origin_matches("http://localhost:*", "http://localhost:"));
  EXPECT_FALSE(origin_matches("http://localhost:*", "http://localhost"));
  EXPECT_TRUE(origin_matches("https://*.example.com", "https://a.b.example.com"));
  EXPECT_FALSE(origin_matches("https://*.example.com", "https://example.com"));
  EXPECT_FALSE(origin_matches("https://*.example.com", "http://a.example.com"));
  EXPECT_TRUE(origin_matches("HTTPS://App.Example.com", "https://app.example.COM"));
  EXPECT_TRUE(origin_matches("*", "anything"));
}

}  // namespace
