#pragma once
// Small helpers shared by the route files: JSON bodies and Ollama-style errors.
#include <optional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "store/model_name.h"

namespace ebb::api {

inline void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

inline void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

// A model the registry does not have: Ollama's 400 "invalid model name" for a name no model can
// have (store/model_name.h), else 404 "model 'NAME' not found".
inline void send_model_not_found(httplib::Response& res, const std::string& name) {
  if (!store::ModelName::parse(name).valid()) return send_error(res, 400, "invalid model name");
  send_error(res, 404, "model '" + name + "' not found");
}

// Parses the request body as a JSON object; on failure answers 400 and returns nullopt.
inline std::optional<nlohmann::json> parse_body(const httplib::Request& req, httplib::Response& res) {
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    send_error(res, 400, "invalid JSON in request body");
    return std::nullopt;
  }
  if (!body.is_object()) {
    send_error(res, 400, "request body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

}  // namespace ebb::api
