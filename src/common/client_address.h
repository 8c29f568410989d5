#pragma once
// Where ebb's client commands (run, ps, list, show, stop) find the server: --host, else EBB_HOST,
// else OLLAMA_HOST, else http://127.0.0.1:11434. `ebb serve` does not read OLLAMA_HOST (see
// docs/configuration.md).
#include <cstdint>
#include <string>
#include <string_view>

namespace ebb {

struct ClientAddress {
  std::string scheme = "http";  // "http" or "https"
  std::string host = "127.0.0.1";
  uint16_t port = 11434;
  std::string path;  // a path prefix ("/ollama") or ""; requests go below it

  std::string host_port() const;  // "127.0.0.1:11434", "[::1]:8080"
  std::string origin() const;     // "http://127.0.0.1:11434"
  std::string to_string() const;  // origin() + path
  bool operator==(const ClientAddress&) const = default;
};

// OLLAMA_HOST's format: "host", "host:port", ":port", "[::1]:port", "::1", "http://host:port",
// "https://host:port", with an optional path ("http://host:port/prefix"). A missing port is 11434,
// as ebb serve --host reads it; with `ollama_host` (the value of OLLAMA_HOST) a scheme without a
// port means 80 (http) or 443 (https), as Ollama reads it. Unlike Ollama, a bare number ("8080") is
// a port, as ebb serve --host reads it (Ollama would take it for a host name). An unspecified host
// (none, 0.0.0.0, ::) connects to loopback. Throws std::invalid_argument for another scheme or a
// bad port.
ClientAddress parse_client_address(std::string_view text, bool ollama_host = false);

// The first set of: `flag` (--host), `ebb_host` (EBB_HOST), `ollama_host` (OLLAMA_HOST); the
// default when none is. nullptr or an empty/blank value counts as not set. Errors name the source:
// "OLLAMA_HOST 'x:y': bad port 'y'".
ClientAddress resolve_client_address(std::string_view flag, const char* ebb_host, const char* ollama_host);
// The same with the process's environment.
ClientAddress client_address_from_env(std::string_view flag);

}  // namespace ebb
