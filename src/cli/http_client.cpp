#include "cli/http_client.h"

#include <cstdlib>
#include <stdexcept>

#include <httplib.h>

#include "common/scope_exit.h"

namespace ebb::cli {

using json = nlohmann::json;

ClientAddress server_address(const std::string& flag) { return client_address_from_env(flag); }

void add_host_option(CLI::App* cmd, std::string& host) {
  cmd->add_option("--host", host, "server address: host:port, :port, http://host:port (env EBB_HOST, OLLAMA_HOST)");
}

void authorize(httplib::Client& client) {
  const char* key = std::getenv("EBB_API_KEY");
  if (key && *key) client.set_bearer_token_auth(key);
}

static httplib::Client client_for(const ClientAddress& address) {
  httplib::Client cli(address.origin());
  authorize(cli);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(3600, 0);
  return cli;
}

static ConnectionError unreachable(const ClientAddress& address) {
  return ConnectionError("could not connect to ebb at " + address.to_string() + " (is `ebb serve` running?)");
}

static std::string error_text(int status, const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return "HTTP " + std::to_string(status) + ": " + body;
}

json get_json(const ClientAddress& address, const std::string& path) {
  auto cli = client_for(address);
  auto res = cli.Get((address.path + path).c_str());
  if (!res) throw unreachable(address);
  if (res->status != 200) throw HttpError(res->status, error_text(res->status, res->body));
  return json::parse(res->body);
}

json post_json(const ClientAddress& address, const std::string& path, const json& body) {
  auto cli = client_for(address);
  auto res = cli.Post((address.path + path).c_str(), body.dump(), "application/json");
  if (!res) throw unreachable(address);
  if (res->status != 200) throw HttpError(res->status, error_text(res->status, res->body));
  return json::parse(res->body);
}

void Cancellation::cancel() {
  cancelled_ = true;
  std::lock_guard<std::mutex> lock(mutex_);
  if (stop_) stop_();
}

void post_ndjson(const ClientAddress& address, const std::string& path, const json& body,
                 const std::function<void(const json&)>& on_object, Cancellation* cancel) {
  auto cli = client_for(address);
  if (cancel) {
    std::lock_guard<std::mutex> lock(cancel->mutex_);
    if (cancel->cancelled_) return;
    cancel->stop_ = [&cli] { cli.stop(); };  // shuts the socket down; thread-safe in httplib
  }
  ScopeExit clear([cancel] {
    if (!cancel) return;
    std::lock_guard<std::mutex> lock(cancel->mutex_);
    cancel->stop_ = nullptr;
  });
  const auto stopped = [&] { return cancel && cancel->cancelled(); };
  httplib::Request req;
  req.method = "POST";
  req.path = address.path + path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  std::string buf, raw;
  int status = 0;
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return !stopped();
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (stopped()) return false;
    if (status != 200) {
      raw.append(data, n);
      return true;
    }
    buf.append(data, n);
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (line.empty()) continue;
      auto j = json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      if (j.contains("error")) throw std::runtime_error(j["error"].get<std::string>());
      on_object(j);
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  if (!cli.send(req, res, err)) {
    if (err == httplib::Error::Canceled || stopped()) return;
    throw unreachable(address);
  }
  if (stopped()) return;
  if (status != 200) throw HttpError(status, error_text(status, raw.empty() ? res.body : raw));
}

}  // namespace ebb::cli
