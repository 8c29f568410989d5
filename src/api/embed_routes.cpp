// Ollama embeddings: POST /api/embed (L2-normalized, several inputs) and the legacy
// POST /api/embeddings (one prompt, vectors as the model gives them).
#include <algorithm>
#include <chrono>
#include <cmath>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/embed.h"
#include "api/http_util.h"
#include "api/runner_call.h"
#include "api/server.h"

namespace ebb::api {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using supervisor::StreamEvent;

namespace {

void need(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

int64_t ns_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

void handle_embed(const httplib::Request& req, httplib::Response& res, ServerContext ctx, bool legacy) {
  const auto t0 = Clock::now();
  auto read =
      read_model_request<EmbedRequest>(req, res, ctx, [&](const json& b) { return parse_embed_request(b, legacy); });
  if (!read) return;
  auto& [r, entry] = *read;
  const ClientWatch client(req.remote_addr, req.remote_port);
  auto out = compute_embeddings(ctx, entry, r, client, res);
  if (!out) return;
  if (legacy) return send_json(res, 200, {{"embedding", out->vectors.empty() ? json::array() : json(out->vectors[0])}});
  finish_embeddings(out->vectors, r.dimensions);
  send_json(res, 200,
            {{"model", r.model},
             {"embeddings", out->vectors},
             {"total_duration", ns_since(t0)},
             {"load_duration", out->load_ns},
             {"prompt_eval_count", out->tokens}});
}

}  // namespace

EmbedRequest parse_embed_request(const json& body, bool legacy, bool token_inputs) {
  EmbedRequest r;
  need(body.value("model", json()).is_string() && !body["model"].get<std::string>().empty(), "model is required");
  r.model = body["model"];
  const char* field = legacy ? "prompt" : "input";
  const json in = body.value(field, json());
  const auto is_tokens = [](const json& x) {
    return x.is_array() && std::all_of(x.begin(), x.end(), [](const json& t) { return t.is_number_integer(); });
  };
  if (in.is_string()) {
    if (!in.get<std::string>().empty()) r.inputs.push_back(in);
  } else if (in.is_array() && !legacy) {
    for (const auto& x : in) {
      need(x.is_string() || (token_inputs && is_tokens(x)), "'input' must be a string or an array of strings");
      r.inputs.push_back(x);
    }
  } else {
    need(in.is_null(), legacy ? "'prompt' must be a string" : "'input' must be a string or an array of strings");
  }
  if (body.contains("truncate") && !body["truncate"].is_null()) {
    need(body["truncate"].is_boolean(), "'truncate' must be a boolean");
    r.truncate = body["truncate"];
  }
  if (body.contains("dimensions") && !body["dimensions"].is_null()) {
    need(body["dimensions"].is_number_integer() && body["dimensions"].get<int64_t>() > 0,
         "'dimensions' must be a positive integer");
    r.dimensions = static_cast<int>(std::min<int64_t>(body["dimensions"].get<int64_t>(), 1 << 30));
  }
  r.raw_options = body.value("options", json());
  r.options = parse_options(r.raw_options);
  if (body.contains("keep_alive") && !body["keep_alive"].is_null()) r.keep_alive = parse_keep_alive(body["keep_alive"]);
  return r;
}

std::optional<Embeddings> compute_embeddings(ServerContext ctx, const supervisor::ModelEntry& entry,
                                             const EmbedRequest& r, const ClientWatch& client, httplib::Response& res) {
  Embeddings out;
  if (r.inputs.empty()) {  // no input: only load the model, as Ollama does
    auto lease = acquire_lease(ctx, entry, r.options.context, r.keep_alive, client, res);
    if (!lease) return std::nullopt;
    out.load_ns = lease->load_ns();
    return out;
  }
  json msg = {{"type", "embed"}, {"inputs", r.inputs}, {"truncate", r.truncate}};
  auto call = start_call(ctx, entry, r.options.context, r.keep_alive, msg, client, res);
  if (!call) return std::nullopt;
  std::optional<StreamEvent> ev = next_event(*call, client);
  while (ev && ev->kind == StreamEvent::Kind::Token) ev = next_event(*call, client);
  if (!ev) return std::nullopt;  // the client hung up; the runner dropped the request
  if (ev->kind == StreamEvent::Kind::Error) {
    send_error(res, error_status(*ev), ev->text);
    return std::nullopt;
  }
  out.vectors = ev->stats.value("embeddings", std::vector<std::vector<float>>{});
  out.tokens = ev->stats.value("prompt_eval_count", int64_t{0});
  out.load_ns = call->lease->load_ns();
  return out;
}

void finish_embeddings(std::vector<std::vector<float>>& vectors, int dimensions) {
  for (auto& v : vectors) {
    if (dimensions > 0 && static_cast<size_t>(dimensions) < v.size()) v.resize(dimensions);
    double sum = 0;
    for (float x : v) sum += static_cast<double>(x) * x;
    if (sum <= 0) continue;
    const double inv = 1.0 / std::sqrt(sum);
    for (float& x : v) x = static_cast<float>(x * inv);
  }
}

void add_embed_routes(httplib::Server& srv, ServerContext ctx) {
  srv.Post("/api/embed",
           [ctx](const httplib::Request& req, httplib::Response& res) { handle_embed(req, res, ctx, false); });
  srv.Post("/api/embeddings",
           [ctx](const httplib::Request& req, httplib::Response& res) { handle_embed(req, res, ctx, true); });
}

}  // namespace ebb::api
