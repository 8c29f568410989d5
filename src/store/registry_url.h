#pragma once
// URLs of the Docker Registry HTTP API (distribution spec) for an Ollama model name, and the
// little URL handling a registry client needs: Location headers (absolute or a path), query
// strings that may already hold parameters, token realms.
#include <optional>
#include <string>
#include <string_view>

#include "store/model_name.h"

namespace ebb::store {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // host[:port]
  std::string target;  // path and query, starting with '/'

  std::string origin() const { return scheme + "://" + host; }
  std::string str() const { return origin() + target; }
};

// An absolute http(s) URL; nullopt for anything else.
std::optional<Url> parse_url(std::string_view text);
// A Location header resolved against the URL that answered it: an absolute URL as it is, a path
// on the same origin. nullopt when it is neither.
std::optional<Url> resolve_location(const Url& base, std::string_view location);
// Appends key=value (the value percent-encoded) with '?' or, when the target has a query, '&'.
std::string append_query(std::string target, std::string_view key, std::string_view value);
// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_encode(std::string_view text);

// The registry's origin for a name: its scheme ("http" when `insecure`), its host.
Url registry_origin(const ModelName& name, bool insecure);
// /v2/<namespace>/<model>/manifests/<tag>
std::string manifest_target(const ModelName& name);
// /v2/<namespace>/<model>/blobs/<digest>
std::string blob_target(const ModelName& name, std::string_view digest);
// /v2/<namespace>/<model>/blobs/uploads/
std::string upload_target(const ModelName& name);

}  // namespace ebb::store
