// Ollama API: /api/generate, /api/chat, /api/tags, /api/ps.
#include <chrono>
#include <memory>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/generate_request.h"
#include "api/generation.h"
#include "api/http_util.h"
#include "api/ollama_shape.h"
#include "api/runner_call.h"
#include "api/server.h"
#include "api/show.h"
#include "common/time_format.h"
#include "common/units.h"

namespace ebb::api {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t ns_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

// An empty prompt (or no messages) only loads the model; with keep_alive 0 it unloads it.
void load_or_unload(const GenerateRequest& r, const supervisor::ModelEntry& entry, const ClientWatch& client,
                    httplib::Response& res, ServerContext ctx, bool chat, Clock::time_point t0) {
  json j = OllamaShape(r.model, chat).object({});
  j["done"] = true;
  if (r.keep_alive && r.keep_alive->is_zero()) {
    try {
      ctx.manager.unload(entry, false);
    } catch (const supervisor::Conflict& e) {
      return send_error(res, 409, e.what());
    }
    j["done_reason"] = "unload";
    return send_json(res, 200, j);
  }
  int64_t load_ns = 0;
  {
    auto lease = acquire_lease(ctx, entry, r.options.context, r.keep_alive, client, res);
    if (!lease) return;
    load_ns = lease->load_ns();
  }
  j["done_reason"] = "load";
  j["load_duration"] = load_ns;
  j["total_duration"] = ns_since(t0);
  send_json(res, 200, j);
}

void handle_generation(const httplib::Request& req, httplib::Response& res, ServerContext ctx, bool chat) {
  auto t0 = Clock::now();
  auto read = read_model_request<GenerateRequest>(req, res, ctx,
                                                  [&](const json& b) { return parse_generate_request(b, chat); });
  if (!read) return;
  auto& [r, entry] = *read;
  const ClientWatch client(req.remote_addr, req.remote_port);
  if (r.empty) return load_or_unload(r, entry, client, res, ctx, chat, t0);
  serve_generation(ctx, entry, r, client, std::make_shared<OllamaShape>(r.model, chat), t0, res);
}

}  // namespace

void add_ollama_routes(httplib::Server& srv, ServerContext ctx) {
  srv.Post("/api/generate",
           [ctx](const httplib::Request& req, httplib::Response& res) { handle_generation(req, res, ctx, false); });
  srv.Post("/api/chat",
           [ctx](const httplib::Request& req, httplib::Response& res) { handle_generation(req, res, ctx, true); });
  srv.Get("/api/tags", [ctx](const httplib::Request&, httplib::Response& res) {
    json models = json::array();
    // Every model, those that cannot serve (a file the validator refuses) with their "error".
    for (const auto& e : ctx.registry.list()) models.push_back(tag_entry(e));
    send_json(res, 200, {{"models", models}});
  });
  srv.Get("/api/ps", [ctx](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"models", ctx.manager.ps()}});
  });
}

}  // namespace ebb::api
