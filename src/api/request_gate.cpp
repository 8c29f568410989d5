#include "api/request_gate.h"

#include <cstdlib>

#include "api/cors.h"
#include "api/http_util.h"
#include "common/units.h"

namespace ebb::api {

using HandlerResponse = httplib::Server::HandlerResponse;

HandlerResponse RequestGate::admit(const httplib::Request& req, httplib::Response& res) const {
  if (draining_) {
    res.set_header("Connection", "close");
    send_error(res, 503, "ebb is shutting down");
    return HandlerResponse::Handled;
  }
  if (!cors(req, res) || !authorized(req, res) || !body_fits(req, res)) return HandlerResponse::Handled;
  return HandlerResponse::Unhandled;
}

bool RequestGate::cors(const httplib::Request& req, httplib::Response& res) const {
  if (!req.has_header("Origin")) return true;  // not a browser's cross-origin request
  const std::string origin = req.get_header_value("Origin");
  if (!origin_allowed(settings_.origins, origin)) {
    send_error(res, 403, "origin '" + origin + "' is not allowed (add it to EBB_ORIGINS)");
    return false;
  }
  res.set_header("Access-Control-Allow-Origin", origin);
  res.set_header("Vary", "Origin");
  if (req.method != "OPTIONS") return true;
  // A preflight carries no credentials: it is answered before the key is asked for.
  res.set_header("Access-Control-Allow-Methods", kCorsAllowMethods);
  res.set_header("Access-Control-Allow-Headers", kCorsAllowHeaders);
  res.set_header("Access-Control-Max-Age", kCorsMaxAge);
  res.status = 204;
  return false;
}

bool RequestGate::authorized(const httplib::Request& req, httplib::Response& res) const {
  const AccessDecision d = decide_access(settings_.access, req.path, req.get_header_value("Authorization"));
  if (d == AccessDecision::Allow) return true;
  res.set_header("WWW-Authenticate", "Bearer");
  send_error(
      res, 401,
      d == AccessDecision::MissingKey ? "this route needs an API key (Authorization: Bearer <key>)" : "wrong API key");
  return false;
}

bool RequestGate::body_fits(const httplib::Request& req, httplib::Response& res) const {
  // A blob upload (a GGUF of many GiB) streams to disk and is not held to the limit.
  if (req.path.rfind("/api/blobs/", 0) == 0 || !req.has_header("Content-Length")) return true;
  if (std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) <= settings_.max_body) return true;
  send_error(res, 413,
             "request body too large (the limit is " + format_bytes(settings_.max_body) + "; --max-body raises it)");
  return false;
}

}  // namespace ebb::api
