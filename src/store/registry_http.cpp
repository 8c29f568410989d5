#include "store/registry_http.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "common/ascii_case.h"
#include "store/registry_auth.h"

namespace ebb::store {

namespace {

constexpr int kMaxRedirects = 10;

bool same_origin(const Url& a, const Url& b) { return a.scheme == b.scheme && ascii_iequal(a.host, b.host); }

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string describe(int status, std::string_view body) {
  std::string out = std::to_string(status);
  if (auto text = status_text(status); !text.empty()) out += " " + std::string(text);
  if (auto detail = registry_error_detail(body); !detail.empty()) out += " (" + detail + ")";
  return out;
}

// httplib's names for its errors ("Read") say little on their own.
std::string transport_error(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection: return "connection refused or host unreachable";
    case httplib::Error::ConnectionTimeout: return "timed out connecting";
    case httplib::Error::Read: return "the connection broke or timed out while reading";
    case httplib::Error::Write: return "the connection broke or timed out while sending";
    case httplib::Error::SSLConnection: return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts: return "cannot load the system's CA certificates";
    case httplib::Error::SSLServerVerification: return "the server's TLS certificate does not verify";
    default: return httplib::to_string(e);
  }
}

}  // namespace

std::string_view status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 416: return "Range Not Satisfiable";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

std::string registry_error_detail(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto errors = j.find("errors");
    if (errors != j.end() && errors->is_array() && !errors->empty() && (*errors)[0].is_object()) {
      const auto& e = (*errors)[0];
      for (const char* key : {"message", "code"})
        if (auto m = e.find(key); m != e.end() && m->is_string() && !m->get<std::string>().empty())
          return m->get<std::string>().substr(0, 300);
    }
    if (auto e = j.find("error"); e != j.end() && e->is_string()) return e->get<std::string>().substr(0, 300);
    return "";
  }
  std::string_view line = body.substr(0, body.find('\n'));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
  if (line.empty() || line.size() > 200) return "";
  for (unsigned char c : line)
    if (c < 0x20 || c >= 0x7f) return "";
  if (line.front() == '<') return "";  // an HTML page says nothing useful in one line
  return std::string(line);
}

std::string HttpAnswer::header(const std::string& key) const {
  for (const auto& [k, v] : headers)
    if (ascii_iequal(k, key)) return v;
  return "";
}

RegistrySession::RegistrySession(std::string op, Url origin, std::optional<Credentials> credentials, Timeouts timeouts)
    : op_(std::move(op)), origin_(std::move(origin)), credentials_(std::move(credentials)), timeouts_(timeouts) {}

Url RegistrySession::at(std::string target) const {
  Url u = origin_;
  u.target = std::move(target);
  return u;
}

void RegistrySession::fail(const std::string& what) const { throw RegistryError(op_ + ": " + what); }

void RegistrySession::fail_status(const HttpAnswer& a, std::string_view doing) const {
  std::string what = doing.empty() ? "" : std::string(doing) + ": ";
  if (a.url.host != origin_.host && !a.url.host.empty())
    what += a.url.host + " answered ";
  else
    what += "registry answered ";
  fail(what + describe(a.status, a.body));
}

std::unique_ptr<httplib::Client> RegistrySession::client(const Url& url) const {
  auto c = std::make_unique<httplib::Client>(url.origin());
  c->set_connection_timeout(timeouts_.connect_s);
  c->set_read_timeout(timeouts_.read_s);
  c->set_write_timeout(timeouts_.read_s);
  c->set_follow_location(false);
  c->set_decompress(false);
  c->set_keep_alive(false);
  return c;
}

HttpAnswer RegistrySession::once(const std::string& method, const Url& url, const httplib::Headers& headers,
                                 const std::string& body, const std::string& content_type, const Sink* sink,
                                 size_t body_limit) {
  HttpAnswer a;
  a.url = url;
  httplib::Request req;
  req.method = method;
  req.path = url.target;
  req.headers = headers;
  req.headers.emplace("User-Agent", "ebb");
  req.headers.emplace("Accept-Encoding", "identity");
  if (same_origin(url, origin_)) {
    std::lock_guard lock(mu_);
    if (!authorization_.empty()) req.headers.emplace("Authorization", authorization_);
  }
  if (!content_type.empty()) req.headers.emplace("Content-Type", content_type);
  req.body = body;
  req.response_handler = [&](const httplib::Response& r) {
    a.status = r.status;
    a.headers = r.headers;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (sink && a.ok()) {
      if ((*sink)(a, std::string_view(data, n))) return true;
      a.stopped = true;
      return false;
    }
    if (a.body.size() + n > body_limit) {
      a.too_large = true;
      a.stopped = true;
      return false;
    }
    a.body.append(data, n);
    return true;
  };
  auto res = client(url)->send(req);
  if (!res && !a.stopped) {
    const bool started = a.status != 0;
    fail((started ? "connection to " + url.host + " failed: " : "cannot reach registry " + url.host + ": ") +
         transport_error(res.error()));
  }
  if (res) {  // the response handler does not run for every method (HEAD)
    a.status = res->status;
    a.headers = res->headers;
  }
  return a;
}

HttpAnswer RegistrySession::perform(const std::string& method, const Url& url, const httplib::Headers& headers,
                                    const std::string& body, const std::string& content_type, const Sink* sink,
                                    size_t body_limit) {
  Url current = url;
  bool authenticated = false;
  for (int hops = 0;;) {
    HttpAnswer a = once(method, current, headers, body, content_type, sink, body_limit);
    if (a.status == 401 && same_origin(current, origin_)) {
      if (authenticated) fail("authentication failed: registry answered " + describe(a.status, a.body));
      authenticate(a);
      authenticated = true;
      continue;
    }
    if (is_redirect(a.status)) {
      const std::string location = a.header("Location");
      auto next = resolve_location(current, location);
      if (!next) fail("registry answered " + std::to_string(a.status) + " with a bad Location '" + location + "'");
      if (++hops > kMaxRedirects) fail("more than " + std::to_string(kMaxRedirects) + " redirects");
      current = *next;
      continue;
    }
    return a;
  }
}

HttpAnswer RegistrySession::send(const std::string& method, const Url& url, const httplib::Headers& headers,
                                 const std::string& body, const std::string& content_type, size_t body_limit) {
  return perform(method, url, headers, body, content_type, nullptr, body_limit);
}

HttpAnswer RegistrySession::get(const Url& url, const httplib::Headers& headers, const Sink& sink) {
  return perform("GET", url, headers, {}, {}, &sink, 1 << 20);
}

void RegistrySession::authenticate(const HttpAnswer& a) {
  const std::string header = a.header("WWW-Authenticate");
  auto challenge = parse_challenge(header);
  if (!challenge) fail("registry answered 401 Unauthorized without a usable WWW-Authenticate challenge");
  if (challenge->scheme == "basic") {
    if (!credentials_)
      fail("registry answered 401 Unauthorized: it wants a login and " + docker_config_path().string() +
           " has none for " + origin_.host);
    std::lock_guard lock(mu_);
    authorization_ = basic_authorization(*credentials_);
    return;
  }
  if (challenge->scheme != "bearer")
    fail("registry answered 401 Unauthorized with an unsupported '" + challenge->scheme + "' challenge");
  auto url = token_url(*challenge);
  if (!url) fail("registry answered 401 Unauthorized with a Bearer challenge without an http(s) realm");
  // The token server is asked directly (no redirects, no registry token), with a login if there is one.
  httplib::Headers headers{{"User-Agent", "ebb"}};
  if (credentials_) headers.emplace("Authorization", basic_authorization(*credentials_));
  auto res = client(*url)->Get(url->target, headers);
  if (!res) fail("cannot reach token server " + url->host + ": " + transport_error(res.error()));
  if (res->status != 200)
    fail("authentication failed: token server " + url->host + " answered " + describe(res->status, res->body));
  auto token = token_from_answer(res->body);
  if (!token) fail("authentication failed: token server " + url->host + " answered no token");
  std::lock_guard lock(mu_);
  authorization_ = "Bearer " + *token;
}

}  // namespace ebb::store
