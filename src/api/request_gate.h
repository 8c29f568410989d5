#pragma once
// Every request passes here before its route (httplib's pre-routing handler): refused while the
// server drains, CORS (allowed origins get their headers, a preflight its 204, others 403), the
// API key (401), and the body limit (413). It answers the refusals itself.
#include <atomic>

#include <httplib.h>

#include "api/gate_settings.h"

namespace ebb::api {

class RequestGate {
 public:
  explicit RequestGate(GateSettings settings) : settings_(std::move(settings)) {}

  // From now on every request is answered 503 (the server is shutting down).
  void start_draining() { draining_ = true; }

  // Handled: the answer is in `res` and the route must not run.
  httplib::Server::HandlerResponse admit(const httplib::Request& req, httplib::Response& res) const;

 private:
  bool cors(const httplib::Request& req, httplib::Response& res) const;  // false: answered
  bool authorized(const httplib::Request& req, httplib::Response& res) const;
  bool body_fits(const httplib::Request& req, httplib::Response& res) const;

  GateSettings settings_;
  std::atomic<bool> draining_{false};
};

}  // namespace ebb::api
