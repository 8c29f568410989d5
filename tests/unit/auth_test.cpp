// The API key's decision per path (api/auth.h).
#include "api/auth.h"

#include <gtest/gtest.h>

namespace {

using ebb::ApiKeyScope;
using ebb::api::AccessDecision;
using ebb::api::AccessPolicy;
using ebb::api::decide_access;

TEST(Auth, NoKeyOpensEverything) {
  const AccessPolicy none;
  for (const char* p : {"/api/generate", "/api/pull", "/api/models/load", "/metrics", "/v1/models"})
    EXPECT_EQ(decide_access(none, p, ""), AccessDecision::Allow) << p;
}

TEST(Auth, ScopeAllGuardsEveryRouteButTheOpenOnes) {
  const AccessPolicy all{"k", ApiKeyScope::All, true};
  for (const char* p : {"/api/generate", "/api/chat", "/api/tags", "/v1/chat/completions", "/api/pull", "/nope"})
    EXPECT_EQ(decide_access(all, p, ""), AccessDecision::MissingKey) << p;
  for (const char* p : {"/", "/api/version", "/health"})
    EXPECT_EQ(decide_access(all, p, ""), AccessDecision::Allow) << p;
  EXPECT_EQ(decide_access(all, "/api/chat", "Bearer k"), AccessDecision::Allow);
  EXPECT_EQ(decide_access(all, "/api/chat", "Bearer wrong"), AccessDecision::WrongKey);
  EXPECT_EQ(decide_access(all, "/api/chat", "Basic az"), AccessDecision::WrongKey);
}

TEST(Auth, ScopeAdminGuardsWhatChangesModelsOrMemory) {
  const AccessPolicy admin{"k", ApiKeyScope::Admin, true};
  for (const char* p : {"/api/memory", "/gpu_status", "/api/models/load", "/api/models/unload", "/api/models/pin",
                        "/api/models/release-kv", "/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete",
                        "/api/blobs/sha256:00"})
    EXPECT_EQ(decide_access(admin, p, ""), AccessDecision::MissingKey) << p;
  for (const char* p : {"/api/generate", "/api/chat", "/api/embed", "/api/tags", "/api/ps", "/api/show",
                        "/v1/chat/completions", "/v1/models", "/", "/health"})
    EXPECT_EQ(decide_access(admin, p, ""), AccessDecision::Allow) << p;
}

TEST(Auth, MetricsFollowTheirOwnSetting) {
  EXPECT_TRUE(key_required(AccessPolicy{"k", ApiKeyScope::Admin, true}, "/metrics"));
  EXPECT_FALSE(key_required(AccessPolicy{"k", ApiKeyScope::All, false}, "/metrics"));
  EXPECT_FALSE(key_required(AccessPolicy{"", ApiKeyScope::All, true}, "/metrics"));
}

TEST(Auth, BearerHeader) {
  using ebb::api::bearer_matches;
  EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
  EXPECT_TRUE(bearer_matches("bearer   abc ", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer abcd", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer ab", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer", "abc"));
  EXPECT_FALSE(bearer_matches("Bearerabc", "abc"));
  EXPECT_FALSE(bearer_matches("Token abc", "abc"));
  EXPECT_FALSE(bearer_matches("abc", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer ", ""));
}

}  // namespace
