// OpenAI's API: POST /v1/chat/completions, /v1/completions, /v1/responses, /v1/embeddings; GET
// /v1/models and /v1/models/{id}. The bodies are translated into ebb's own requests (api/openai_request.h) and
// take the same path as /api/chat, /api/generate and /api/embed; only the answers differ
// (api/openai_shape.h). Every error of a /v1 route, whoever raised it, leaves in OpenAI's shape.
#include <chrono>
#include <memory>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/embed.h"
#include "api/generation.h"
#include "api/http_util.h"
#include "api/openai_request.h"
#include "api/openai_shape.h"
#include "api/responses_request.h"
#include "api/responses_shape.h"
#include "api/runner_call.h"
#include "api/server.h"
#include "api/show.h"

namespace ebb::api {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The message of an error answer without a body (an unknown route's 404).
std::string status_text(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    default: return "HTTP status " + std::to_string(status);
  }
}

// Rewrites an error answer in Ollama's shape ({"error": "message"}, or an empty body) in
// OpenAI's, keeping its status and headers (Retry-After).
void reshape_error(httplib::Response& res) {
  if (res.status < 400) return;
  const json body = json::parse(res.body, nullptr, false);
  if (body.is_object() && body.value("error", json()).is_object()) return;  // already OpenAI's
  std::string message = body.is_object() && body.value("error", json()).is_string() ? body["error"].get<std::string>()
                        : !res.body.empty() && body.is_discarded()                  ? res.body
                                                                                    : status_text(res.status);
  send_json(res, res.status, openai_error(res.status, message));
}

using Handler = void (*)(const httplib::Request&, httplib::Response&, ServerContext);

// A /v1 route: the handler's errors (and its exceptions) in OpenAI's shape.
auto openai_route(ServerContext ctx, Handler handler) {
  return [ctx, handler](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res, ctx);
    } catch (const std::exception& e) {
      spdlog::error("unhandled error: {}", e.what());
      send_error(res, 500, e.what());
    }
    reshape_error(res);
  };
}

template <OpenAIShape::Kind kind>
void handle_generation(const httplib::Request& req, httplib::Response& res, ServerContext ctx) {
  const auto t0 = Clock::now();
  bool include_usage = false;
  auto read = read_model_request<GenerateRequest>(req, res, ctx, [&](const json& b) {
    OpenAIGenerateRequest r = kind == OpenAIShape::Kind::Chat ? parse_openai_chat(b) : parse_openai_completion(b);
    include_usage = r.include_usage;
    return std::move(r.generate);
  });
  if (!read) return;
  auto& [r, entry] = *read;
  const ClientWatch client(req.remote_addr, req.remote_port);
  serve_generation(ctx, entry, r, client, std::make_shared<OpenAIShape>(kind, r.model, include_usage, r.logprobs), t0,
                   res);
}

// Stateless: the whole conversation comes in each request (api/responses_request.h).
void handle_responses(const httplib::Request& req, httplib::Response& res, ServerContext ctx) {
  const auto t0 = Clock::now();
  json settings;
  auto read = read_model_request<GenerateRequest>(req, res, ctx, [&](const json& b) {
    ResponsesRequest r = parse_responses(b);
    settings = std::move(r.settings);
    return std::move(r.generate);
  });
  if (!read) return;
  auto& [r, entry] = *read;
  const ClientWatch client(req.remote_addr, req.remote_port);
  serve_generation(ctx, entry, r, client, std::make_shared<ResponsesShape>(r.model, std::move(settings)), t0, res);
}

void handle_embeddings(const httplib::Request& req, httplib::Response& res, ServerContext ctx) {
  bool base64 = false;
  auto read = read_model_request<EmbedRequest>(req, res, ctx, [&](const json& b) {
    OpenAIEmbedRequest r = embed_from_openai(b);
    base64 = r.base64;
    return parse_embed_request(r.embed_body, false, true);
  });
  if (!read) return;
  auto& [r, entry] = *read;
  const ClientWatch client(req.remote_addr, req.remote_port);
  auto out = compute_embeddings(ctx, entry, r, client, res);
  if (!out) return;
  finish_embeddings(out->vectors, r.dimensions);
  json data = json::array();
  for (size_t i = 0; i < out->vectors.size(); ++i)
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", base64 ? json(embedding_base64(out->vectors[i])) : json(out->vectors[i])}});
  send_json(res, 200,
            {{"object", "list"},
             {"data", std::move(data)},
             {"model", r.model},
             {"usage", {{"prompt_tokens", out->tokens}, {"total_tokens", out->tokens}}}});
}

// OpenAI's model object; `id` as /api/tags names the model, or as the request asked for it.
json model_object(const supervisor::ModelEntry& e, const std::string& id) {
  return {{"id", id}, {"object", "model"}, {"created", e.mtime_ns / 1000000000}, {"owned_by", "library"}};
}

void handle_models(const httplib::Request&, httplib::Response& res, ServerContext ctx) {
  json data = json::array();
  for (const auto& e : ctx.registry.list())
    if (e.info) data.push_back(model_object(e, tag_entry(e)["name"]));
  send_json(res, 200, {{"object", "list"}, {"data", std::move(data)}});
}

void handle_model(const httplib::Request& req, httplib::Response& res, ServerContext ctx) {
  const std::string id = req.matches[1];
  const auto entry = ctx.registry.find(id);
  if (!entry) return send_error(res, 404, "model '" + id + "' not found");
  if (!entry->info) return send_error(res, 500, "model '" + id + "' could not be loaded: " + entry->error);
  send_json(res, 200, model_object(*entry, id));
}

}  // namespace

void add_openai_routes(httplib::Server& srv, ServerContext ctx) {
  srv.Post("/v1/chat/completions", openai_route(ctx, handle_generation<OpenAIShape::Kind::Chat>));
  srv.Post("/v1/completions", openai_route(ctx, handle_generation<OpenAIShape::Kind::Completion>));
  srv.Post("/v1/responses", openai_route(ctx, handle_responses));
  srv.Post("/v1/embeddings", openai_route(ctx, handle_embeddings));
  srv.Get("/v1/models", openai_route(ctx, handle_models));
  srv.Get(R"(/v1/models/(.+))", openai_route(ctx, handle_model));
}

bool reshape_openai_error(const httplib::Request& req, httplib::Response& res) {
  if (req.path.rfind("/v1/", 0) != 0) return false;
  reshape_error(res);
  return true;
}

}  // namespace ebb::api
