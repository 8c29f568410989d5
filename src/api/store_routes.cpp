// The model lifecycle of Ollama's API on the store: pull, push, create (with blob uploads),
// copy and delete. Long jobs stream NDJSON progress (api/progress_stream.h); every write goes
// through a StoreWriter, which refuses them all on a read-only store (403).
#include <fmt/format.h>
#include <httplib.h>

#include <mutex>

#include "api/create_footprint.h"
#include "api/http_util.h"
#include "api/progress_stream.h"
#include "api/server.h"
#include "store/create.h"
#include "store/quantize_child.h"
#include "store/registry_client.h"
#include "store/store_writer.h"

namespace ebb::api {
namespace {

using json = nlohmann::json;

// Store writes one at a time: a delete must not prune a blob that a create has chosen to reuse
// but not yet named in its manifest. Pulls download outside it and only write their manifest
// under the registry's own rules (verified blobs first).
std::mutex& store_mutex() {
  static std::mutex mu;
  return mu;
}

store::StoreWriter writer(ServerContext ctx) { return store::StoreWriter(ctx.registry.store(), ctx.models_read_only); }

// Store errors as statuses: read-only 403, missing 404; std::invalid_argument stays a 400.
template <class Fn>
void mapped(Fn&& fn) {
  try {
    fn();
  } catch (const store::ReadOnlyStoreError& e) {
    throw StatusError(403, e.what());
  } catch (const store::ModelNotFoundError& e) {
    throw StatusError(404, e.what());
  } catch (const store::RegistryCancelled&) {
    throw StatusError(499, "cancelled");
  }
}

std::string model_field(const json& body) {
  for (const char* key : {"model", "name"})
    if (body.contains(key) && !body[key].is_null()) {
      if (!body[key].is_string()) throw std::invalid_argument(fmt::format("'{}' must be a string", key));
      if (!body[key].get<std::string>().empty()) return body[key];
    }
  throw std::invalid_argument("model is required");
}

bool bool_field(const json& body, const char* key, bool fallback) {
  if (!body.contains(key) || body[key].is_null()) return fallback;
  if (!body[key].is_boolean()) throw std::invalid_argument(fmt::format("'{}' must be a boolean", key));
  return body[key];
}

store::ModelName valid_name(const std::string& text) {
  store::ModelName name = store::ModelName::parse(text);
  if (!name.valid()) throw std::invalid_argument("invalid model name");
  return name;
}

// Pull and push: {"model", "insecure", "stream"}.
void registry_route(const httplib::Request& req, httplib::Response& res, ServerContext ctx, bool pull) {
  auto body = parse_body(req, res);
  if (!body) return;
  std::string model;
  bool stream = true;
  store::RegistryOptions options;
  try {
    model = model_field(*body);
    stream = bool_field(*body, "stream", true);
    options.insecure = bool_field(*body, "insecure", false);
    // A name written http://… asks for plain HTTP; Ollama wants "insecure" for that too.
    if (valid_name(model).scheme == "http" && !options.insecure) throw std::invalid_argument("insecure protocol http");
  } catch (const std::invalid_argument& e) {
    return send_error(res, 400, e.what());
  }
  serve_progress(res, stream, [ctx, model, options, pull](const ProgressFn& progress, const CancelledFn& cancelled) {
    mapped([&] {
      const store::ModelName name = valid_name(model);
      if (pull) {
        writer(ctx).check_writable("pull a model");
        store::pull_model(ctx.registry.store(), name, options, progress, cancelled);
        ctx.registry.refresh();
      } else {
        const auto stored = ctx.registry.store().find(name);
        if (!stored) throw StatusError(404, "model '" + model + "' not found");
        store::push_model(ctx.registry.store(), stored->name, options, progress, cancelled);
      }
    });
  });
}

void create_route(const httplib::Request& req, httplib::Response& res, ServerContext ctx) {
  auto body = parse_body(req, res);
  if (!body) return;
  store::CreateRequest r;
  bool stream = true;
  try {
    stream = bool_field(*body, "stream", true);
    r = store::CreateRequest::from_json(*body);
    valid_name(r.model);
  } catch (const std::invalid_argument& e) {
    return send_error(res, 400, e.what());
  }
  serve_progress(res, stream, [ctx, r](const ProgressFn& progress, const CancelledFn&) {
    std::filesystem::path source;  // the GGUF the quantizer read
    store::Quantizer quantize = [&source, inner = store::quantize_with_ebb(ctx.exe)](
                                    const auto& in, const auto& out, const auto& type, const auto& report) {
      source = in;
      inner(in, out, type, report);
    };
    // A quantizing create reports the footprint before and after, ahead of its "success".
    auto report = [&](const json& p) {
      if (!source.empty() && p.value("status", "") == "success")
        if (auto fp = quantize_footprint(ctx, r.model, source, r.quantize)) progress(*fp);
      progress(p);
    };
    mapped([&] {
      std::lock_guard lk(store_mutex());
      store::create_model(writer(ctx), r, quantize, report);
    });
    ctx.registry.refresh();
  });
}

// {"source", "destination"}: Ollama's 400 names the invalid one.
void copy_route(const httplib::Request& req, httplib::Response& res, ServerContext ctx) {
  auto body = parse_body(req, res);
  if (!body) return;
  const auto text = [&](const char* key) {
    return body->contains(key) && (*body)[key].is_string() ? (*body)[key].get<std::string>() : "";
  };
  const std::string source = text("source"), destination = text("destination");
  if (!store::ModelName::parse(source).valid())
    return send_error(res, 400, fmt::format("source \"{}\" is invalid", source));
  if (!store::ModelName::parse(destination).valid())
    return send_error(res, 400, fmt::format("destination \"{}\" is invalid", destination));
  serve_progress(res, false, [&](const ProgressFn&, const CancelledFn&) {
    mapped([&] {
      std::lock_guard lk(store_mutex());
      writer(ctx).copy(source, destination);
    });
    ctx.registry.refresh();
  });
  if (res.status == 200) res.set_content("", "text/plain");  // Ollama answers an empty 200
}

// {"model"}: a loaded model is unloaded first; one that is loading or busy is a 409.
void delete_route(const httplib::Request& req, httplib::Response& res, ServerContext ctx) {
  auto body = parse_body(req, res);
  if (!body) return;
  std::string model;
  try {
    model = model_field(*body);
    valid_name(model);  // as Ollama: a name no model can have is a 400, not a 404
  } catch (const std::invalid_argument& e) {
    return send_error(res, 400, e.what());
  }
  serve_progress(res, false, [&](const ProgressFn&, const CancelledFn&) {
    mapped([&] {
      const store::StoreWriter w = writer(ctx);
      w.check_writable("delete a model");
      const auto entry = ctx.registry.find(model);
      if (!entry || !entry->stored) throw StatusError(404, "model '" + model + "' not found");
      try {
        ctx.manager.unload(*entry, /*to_cold=*/true);
      } catch (const supervisor::Conflict& e) {
        throw StatusError(409, fmt::format("model '{}' is in use and cannot be deleted now: {}", model, e.what()));
      }
      std::lock_guard lk(store_mutex());
      w.remove(entry->stored->full_name);
    });
    ctx.registry.refresh();
  });
  if (res.status == 200) res.set_content("", "text/plain");
}

void add_blob_routes(httplib::Server& srv, ServerContext ctx) {
  // HEAD (httplib answers it with the GET route): 200 when the store has the blob, else 404 (Ollama's CreateBlob checks this first).
  srv.Get(R"(/api/blobs/([^/]+))", [ctx](const httplib::Request& req, httplib::Response& res) {
    try {
      res.status = writer(ctx).has_blob(req.matches[1].str()) ? 200 : 404;
    } catch (const std::invalid_argument& e) {
      send_error(res, 400, e.what());
    }
  });
  srv.Post(R"(/api/blobs/([^/]+))",
           [ctx](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& content) {
             const std::string digest = req.matches[1].str();
             try {
               const store::StoreWriter w = writer(ctx);
               w.check_writable("upload a blob");
               // The body is written as it arrives, never held whole: a GGUF may be many GiB.
               const bool created = w.upload_blob_from(digest, [&](const std::function<void(std::string_view)>& write) {
                 content([&](const char* data, size_t n) {
                   write(std::string_view(data, n));
                   return true;
                 });
               });
               res.status = created ? 201 : 200;
             } catch (const store::ReadOnlyStoreError& e) {
               send_error(res, 403, e.what());
             } catch (const std::invalid_argument& e) {
               send_error(res, 400, e.what());
             } catch (const std::exception& e) {
               send_error(res, 500, e.what());
             }
           });
}

}  // namespace

void add_store_routes(httplib::Server& srv, ServerContext ctx) {
  srv.Post("/api/pull",
           [ctx](const httplib::Request& req, httplib::Response& res) { registry_route(req, res, ctx, true); });
  srv.Post("/api/push",
           [ctx](const httplib::Request& req, httplib::Response& res) { registry_route(req, res, ctx, false); });
  srv.Post("/api/create", [ctx](const httplib::Request& req, httplib::Response& res) { create_route(req, res, ctx); });
  srv.Post("/api/copy", [ctx](const httplib::Request& req, httplib::Response& res) { copy_route(req, res, ctx); });
  srv.Delete("/api/delete",
             [ctx](const httplib::Request& req, httplib::Response& res) { delete_route(req, res, ctx); });
  add_blob_routes(srv, ctx);
}

}  // namespace ebb::api
