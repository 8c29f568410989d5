#pragma once
// The parts of registry authentication that are plain text: a 401's WWW-Authenticate challenge
// (Basic, or Bearer with the distribution spec's token flow), the token server's URL and answer,
// and Authorization header values.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "store/docker_config.h"
#include "store/registry_url.h"

namespace ebb::store {

struct Challenge {
  std::string scheme;                         // lower case: "basic", "bearer"
  std::map<std::string, std::string> params;  // keys lower case: realm, service, scope, …
};

// The first challenge of a WWW-Authenticate value: `Bearer realm="…",service="…",scope="…"`
// (quoted strings may hold commas and backslash escapes). nullopt for an empty or malformed one.
std::optional<Challenge> parse_challenge(std::string_view header);
// realm?service=…&scope=… for a Bearer challenge; nullopt without an http(s) realm.
std::optional<Url> token_url(const Challenge& challenge);
// The token of a token server's JSON answer ("token", else "access_token"); nullopt when it
// has neither or is not JSON.
std::optional<std::string> token_from_answer(std::string_view body);
// "Basic base64(user:pass)".
std::string basic_authorization(const Credentials& credentials);

}  // namespace ebb::store
