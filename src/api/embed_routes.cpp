// Ollama embeddings: POST /api/embed (L2-normalized, several inputs) and the legacy
// POST /api/embeddings (one prompt, vectors as the model gives them).
#include <chrono>
#include <cmath>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/http_util.h"
#include "api/runner_call.h"
#include "api/server.h"

namespace ebb::api {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using supervisor::StreamEvent;

struct EmbedRequest {
  std::string model;
  std::vector<std::string> inputs;
  bool truncate = true;
  int dimensions = 0;  // 0: all
  ParsedOptions options;
  std::optional<KeepAlive> keep_alive;
};

void need(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// Throws std::invalid_argument (400). `legacy`: /api/embeddings with "prompt".
EmbedRequest parse_embed_request(const json& body, bool legacy) {
  EmbedRequest r;
  need(body.value("model", json()).is_string() && !body["model"].get<std::string>().empty(), "model is required");
  r.model = body["model"];
  const char* field = legacy ? "prompt" : "input";
  const json in = body.value(field, json());
  if (in.is_string()) {
    if (!in.get<std::string>().empty()) r.inputs.push_back(in);
  } else if (in.is_array() && !legacy) {
    for (const auto& x : in) {
      need(x.is_string(), "'input' must be a string or an array of strings");
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
  r.options = parse_options(body.value("options", json()));
  if (body.contains("keep_alive") && !body["keep_alive"].is_null()) r.keep_alive = parse_keep_alive(body["keep_alive"]);
  return r;
}

// Scales v to unit length (a zero vector stays as it is).
void normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  const double inv = 1.0 / std::sqrt(sum);
  for (float& x : v) x = static_cast<float>(x * inv);
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
  std::vector<std::vector<float>> vectors;
  int64_t load_ns = 0, tokens = 0;
  if (r.inputs.empty()) {  // no input: only load the model, as Ollama does
    auto lease = acquire_lease(ctx, entry, r.options.context, r.keep_alive, client, res);
    if (!lease) return;
    load_ns = lease->load_ns();
  } else {
    json msg = {{"type", "embed"}, {"inputs", r.inputs}, {"truncate", r.truncate}};
    auto call = start_call(ctx, entry, r.options.context, r.keep_alive, msg, client, res);
    if (!call) return;
    std::optional<StreamEvent> ev = next_event(*call, client);
    while (ev && ev->kind == StreamEvent::Kind::Token) ev = next_event(*call, client);
    if (!ev) return;  // the client hung up; the runner dropped the request
    if (ev->kind == StreamEvent::Kind::Error) return send_error(res, error_status(*ev), ev->text);
    vectors = ev->stats.value("embeddings", std::vector<std::vector<float>>{});
    tokens = ev->stats.value("prompt_eval_count", int64_t{0});
    load_ns = call->lease->load_ns();
  }

  if (legacy) return send_json(res, 200, {{"embedding", vectors.empty() ? json::array() : json(vectors[0])}});
  for (auto& v : vectors) {
    if (r.dimensions > 0 && static_cast<size_t>(r.dimensions) < v.size()) v.resize(r.dimensions);
    normalize(v);
  }
  send_json(res, 200,
            {{"model", r.model},
             {"embeddings", vectors},
             {"total_duration", ns_since(t0)},
             {"load_duration", load_ns},
             {"prompt_eval_count", tokens}});
}

}  // namespace

void add_embed_routes(httplib::Server& srv, ServerContext ctx) {
  srv.Post("/api/embed",
           [ctx](const httplib::Request& req, httplib::Response& res) { handle_embed(req, res, ctx, false); });
  srv.Post("/api/embeddings",
           [ctx](const httplib::Request& req, httplib::Response& res) { handle_embed(req, res, ctx, true); });
}

}  // namespace ebb::api
