// Memory and admin endpoints: /api/memory (the seed's /gpu_status), /api/models/{load,unload,pin,release-kv}.
#include <httplib.h>

#include "api/http_util.h"
#include "api/server.h"

namespace ebb::api {
namespace {

using json = nlohmann::json;
using supervisor::ModelEntry;

// Shared shape: POST {"model": NAME, ...} → 200 with the model's /api/ps entry.
void admin(httplib::Server& srv, const char* path, ServerContext ctx,
           std::function<json(const ModelEntry&, const json& body)> op) {
  srv.Post(path, [ctx, op](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_body(req, res);
    if (!body) return;
    if (!body->contains("model") || !(*body)["model"].is_string()) return send_error(res, 400, "model is required");
    std::string model = (*body)["model"];
    auto entry = ctx.registry.find(model);
    if (!entry) return send_model_not_found(res, model);
    if (!entry->info) return send_error(res, 500, "model '" + model + "' could not be loaded: " + entry->error);
    try {
      send_json(res, 200, op(*entry, *body));
    } catch (const supervisor::Conflict& e) {
      send_error(res, 409, e.what());
    } catch (const supervisor::Unavailable& e) {
      send_error(res, 503, e.what());
    } catch (const std::invalid_argument& e) {
      send_error(res, 400, e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, e.what());
    }
  });
}

}  // namespace

void add_admin_routes(httplib::Server& srv, ServerContext ctx) {
  auto memory = [ctx](const httplib::Request&, httplib::Response& res) { send_json(res, 200, ctx.manager.memory()); };
  srv.Get("/api/memory", memory);
  srv.Get("/gpu_status", memory);  // the seed article's name for it
  admin(srv, "/api/models/load", ctx, [ctx](const ModelEntry& e, const json& body) {
    std::optional<KeepAlive> ka;
    if (body.contains("keep_alive") && !body["keep_alive"].is_null()) ka = parse_keep_alive(body["keep_alive"]);
    return ctx.manager.load(e, ka);
  });
  admin(srv, "/api/models/unload", ctx, [ctx](const ModelEntry& e, const json& body) {
    const json tier = body.contains("tier") && !body["tier"].is_null() ? body["tier"] : json("host");
    if (tier != "host" && tier != "cold") throw std::invalid_argument("'tier' must be \"host\" or \"cold\"");
    return ctx.manager.unload(e, tier == "cold");
  });
  admin(srv, "/api/models/release-kv", ctx,
        [ctx](const ModelEntry& e, const json&) { return ctx.manager.release_kv(e); });
  admin(srv, "/api/models/pin", ctx, [ctx](const ModelEntry& e, const json& body) {
    if (body.contains("pinned") && !body["pinned"].is_boolean())
      throw std::invalid_argument("'pinned' must be a boolean");
    return ctx.manager.pin(e, body.value("pinned", true));
  });
}

}  // namespace ebb::api
