// Ollama's POST /api/show: a model's details, metadata, template, parameters and capabilities.
#include <fmt/format.h>
#include <httplib.h>

#include "api/http_util.h"
#include "api/server.h"
#include "api/show.h"

namespace ebb::api {
namespace {

using json = nlohmann::json;

// A field that must be of one JSON type when present and not null.
bool field_ok(const json& body, const char* key, bool (json::*is)() const) {
  return !body.contains(key) || body[key].is_null() || (body[key].*is)();
}

void handle_show(const httplib::Request& req, httplib::Response& res, ServerContext ctx) {
  const auto parsed = parse_body(req, res);
  if (!parsed) return;
  const json& body = *parsed;
  for (const char* key : {"model", "name", "system"})
    if (!field_ok(body, key, &json::is_string)) return send_error(res, 400, fmt::format("'{}' must be a string", key));
  if (!field_ok(body, "verbose", &json::is_boolean)) return send_error(res, 400, "'verbose' must be a boolean");
  const auto text = [&](const char* key) {
    return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : "";
  };
  // "name" is Ollama's older spelling of "model".
  const std::string model = !text("model").empty() ? text("model") : text("name");
  if (model.empty()) return send_error(res, 400, "model is required");
  const bool verbose = body.contains("verbose") && body["verbose"].is_boolean() && body["verbose"].get<bool>();
  const std::string system = text("system");

  const auto entry = ctx.registry.find(model);
  if (!entry) return send_model_not_found(res, model);
  if (!entry->info) return send_error(res, 500, "model '" + model + "' could not be loaded: " + entry->error);
  if (!verbose) return send_json(res, 200, show_response(*entry, *entry->info, false, system));
  // The registry keeps small arrays only; verbose wants the vocabulary and merges too.
  try {
    const GgufInfo full = read_gguf_header(entry->path, GgufReadOptions{.keep_arrays = true});
    send_json(res, 200, show_response(*entry, full, true, system));
  } catch (const std::exception& e) {
    send_error(res, 500, "model '" + model + "' could not be read: " + e.what());
  }
}

}  // namespace

void add_show_routes(httplib::Server& srv, ServerContext ctx) {
  srv.Post("/api/show", [ctx](const httplib::Request& req, httplib::Response& res) { handle_show(req, res, ctx); });
}

}  // namespace ebb::api
