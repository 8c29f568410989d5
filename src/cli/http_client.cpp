#include "cli/http_client.h"

#include <cstdlib>
#include <stdexcept>

#include <httplib.h>

#include "common/config.h"

namespace ebb::cli {

using json = nlohmann::json;

std::string server_address(const std::string& flag) {
  std::string text = !flag.empty() ? flag : std::getenv("EBB_HOST") ? std::getenv("EBB_HOST") : "";
  HostPort hp = text.empty() ? HostPort{} : parse_host_port(text);
  if (hp.host == "0.0.0.0" || hp.host.empty()) hp.host = "127.0.0.1";
  return hp.to_string();
}

static httplib::Client client_for(const std::string& address) {
  httplib::Client cli("http://" + address);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(3600, 0);
  return cli;
}

static std::string error_text(int status, const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"].get<std::string>();
  return "HTTP " + std::to_string(status) + ": " + body;
}

json get_json(const std::string& address, const std::string& path) {
  auto cli = client_for(address);
  auto res = cli.Get(path.c_str());
  if (!res) throw std::runtime_error("could not connect to ebb at " + address + " (is `ebb serve` running?)");
  if (res->status != 200) throw std::runtime_error(error_text(res->status, res->body));
  return json::parse(res->body);
}

void post_ndjson(const std::string& address, const std::string& path, const json& body,
                 const std::function<void(const json&)>& on_object) {
  auto cli = client_for(address);
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  std::string buf, raw;
  int status = 0;
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
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
    if (err == httplib::Error::Canceled) return;
    throw std::runtime_error("could not connect to ebb at " + address + " (is `ebb serve` running?)");
  }
  if (status != 200) throw std::runtime_error(error_text(status, raw.empty() ? res.body : raw));
}

}  // namespace ebb::cli
