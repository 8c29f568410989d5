#pragma once
// Requests to one registry for one operation ("pull host/ns/model:tag"): answers a 401 with the
// challenge's auth (Basic, or a Bearer token from the token server) and retries once, follows
// redirects (no Authorization to another origin: blob stores such as S3 reject it), and turns
// transport failures and error answers into RegistryErrors that name the operation and host.
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <httplib.h>

#include "store/docker_config.h"
#include "store/registry_url.h"

namespace ebb::store {

struct RegistryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The caller's cancel check said stop.
struct RegistryCancelled : RegistryError {
  using RegistryError::RegistryError;
};

struct HttpAnswer {
  int status = 0;
  httplib::Headers headers;
  std::string body;        // a 2xx body without a sink, or an error body (cut at body_limit)
  bool too_large = false;  // the body went past body_limit
  bool stopped = false;    // the sink returned false
  Url url;                 // the URL that answered (after redirects)

  std::string header(const std::string& key) const;
  bool ok() const { return status >= 200 && status < 300; }
};

class RegistrySession {
 public:
  struct Timeouts {
    int connect_s = 10;
    int read_s = 60;
  };
  // Bytes of a 2xx answer; false stops the transfer (the answer comes back `stopped`).
  using Sink = std::function<bool(const HttpAnswer& head, std::string_view bytes)>;

  // `op` leads every error message. Credentials: for Basic challenges and the token server.
  RegistrySession(std::string op, Url origin, std::optional<Credentials> credentials, Timeouts timeouts);

  const std::string& op() const { return op_; }
  // The registry's URL for a target path.
  Url at(std::string target) const;

  // One request (redirects and auth handled). Transport failures throw; HTTP errors come back.
  HttpAnswer send(const std::string& method, const Url& url, const httplib::Headers& headers = {},
                  const std::string& body = {}, const std::string& content_type = {}, size_t body_limit = 1 << 20);
  // A GET whose 2xx body goes to `sink` as it arrives.
  HttpAnswer get(const Url& url, const httplib::Headers& headers, const Sink& sink);

  // "<op>: registry answered 404 Not Found (manifest unknown)".
  [[noreturn]] void fail_status(const HttpAnswer& answer, std::string_view doing = {}) const;
  [[noreturn]] void fail(const std::string& what) const;

 private:
  HttpAnswer once(const std::string& method, const Url& url, const httplib::Headers& headers, const std::string& body,
                  const std::string& content_type, const Sink* sink, size_t body_limit);
  HttpAnswer perform(const std::string& method, const Url& url, const httplib::Headers& headers,
                     const std::string& body, const std::string& content_type, const Sink* sink, size_t body_limit);
  void authenticate(const HttpAnswer& answer);
  std::unique_ptr<httplib::Client> client(const Url& url) const;

  std::string op_;
  Url origin_;
  std::optional<Credentials> credentials_;
  Timeouts timeouts_;
  mutable std::mutex mu_;
  std::string authorization_;  // the Authorization value that worked, shared by parallel requests
};

// "Not Found" for 404 and the other statuses a registry sends; "" for unknown ones.
std::string_view status_text(int status);
// The first message of a registry's error body ({"errors":[{"code":…,"message":…}]}), else the
// body's first line when it is short text; "" otherwise.
std::string registry_error_detail(std::string_view body);

}  // namespace ebb::store
