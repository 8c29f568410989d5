// Ollama API: /api/generate, /api/chat, /api/tags, /api/ps.
#include <chrono>
#include <memory>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/generate_request.h"
#include "api/http_util.h"
#include "api/runner_call.h"
#include "api/server.h"
#include "common/time_format.h"
#include "common/units.h"

namespace ebb::api {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using supervisor::StreamEvent;

int64_t ns_since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
}

std::string now_rfc3339() { return format_rfc3339(std::chrono::system_clock::now()); }

// How one endpoint shapes its NDJSON objects.
struct Shape {
  bool chat = false;
  json chunk(const std::string& model, const std::string& text) const {
    json j = {{"model", model}, {"created_at", now_rfc3339()}};
    if (chat)
      j["message"] = {{"role", "assistant"}, {"content", text}};
    else
      j["response"] = text;
    j["done"] = false;
    return j;
  }
  json final(const std::string& model, const json& stats, int64_t total_ns, int64_t load_ns, const std::string& text) const {
    json j = chunk(model, text);
    j["done"] = true;
    j["done_reason"] = stats.value("done_reason", "stop");
    j["total_duration"] = total_ns;
    j["load_duration"] = load_ns;
    j["prompt_eval_count"] = stats.value("prompt_eval_count", 0);
    j["prompt_eval_duration"] = stats.value("prompt_eval_duration", int64_t{0});
    j["eval_count"] = stats.value("eval_count", 0);
    j["eval_duration"] = stats.value("eval_duration", int64_t{0});
    return j;
  }
};

// State shared between the handler and the chunked content provider.
struct Generation {
  RunnerCall call;
  std::optional<StreamEvent> held;  // the event that the handler already took off the stream
  Clock::time_point t0;
  std::string model;
  Shape shape;
  std::optional<ClientWatch> client;  // the request's socket, for direct token writes
  bool finished = false;
};

constexpr auto kPoll = std::chrono::milliseconds(200);

// An empty prompt (or no messages) only loads the model; with keep_alive 0 it unloads it.
void load_or_unload(const GenerateRequest& r, const supervisor::ModelEntry& entry, const ClientWatch& client,
                    httplib::Response& res, ServerContext ctx, bool chat, Clock::time_point t0) {
  Shape shape{chat};
  json j = shape.chunk(r.model, "");
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
  auto read = read_model_request<GenerateRequest>(req, res, ctx, [&](const json& b) { return parse_generate_request(b, chat); });
  if (!read) return;
  auto& [r, entry] = *read;
  const ClientWatch client(req.remote_addr, req.remote_port);
  if (r.empty) return load_or_unload(r, entry, client, res, ctx, chat, t0);

  auto gen = std::make_shared<Generation>();
  gen->t0 = t0;
  gen->model = r.model;
  gen->shape.chat = chat;
  auto call = start_call(ctx, entry, r.options.context, r.keep_alive, r.runner_msg, client, res);
  if (!call) return;
  gen->call = std::move(*call);

  // The runner checks the request on arrival and answers "accepted" (an empty token) or an
  // error; waiting for that before any header goes out lets a bad request still be a 400.
  // A client that hangs up meanwhile cancels the request (next_event returns nothing).
  std::optional<StreamEvent> first = next_event(gen->call, client);
  if (!first) return;
  if (first->kind == StreamEvent::Kind::Error) return send_error(res, error_status(*first), first->text);

  if (!r.stream) {
    std::string text;
    for (std::optional<StreamEvent> ev = std::move(first); ev; ev = next_event(gen->call, client)) {
      if (ev->kind == StreamEvent::Kind::Error) return send_error(res, error_status(*ev), ev->text);
      if (ev->kind == StreamEvent::Kind::Done)
        return send_json(res, 200, gen->shape.final(r.model, ev->stats, ns_since(t0), gen->call.lease->load_ns(), text));
      text += ev->text;
    }
    return;
  }

  gen->held = std::move(first);
  gen->client = client;
  res.set_chunked_content_provider(
      "application/x-ndjson",
      [gen](size_t, httplib::DataSink& sink) {
        // Once the first event is out, the runner's reader thread writes tokens itself while the
        // socket takes them without blocking; this thread wakes for the end, or for tokens that
        // had to wait (RequestStream). The writer goes before this call returns, with the sink.
        Generation* g = gen.get();
        const bool direct = g->client && g->client->watching();
        auto line_of = [g](const json& out) { return out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"; };
        struct StopWriter {
          supervisor::RequestStream& stream;
          ~StopWriter() { stream.set_token_writer(nullptr); }
        } stop{*g->call.stream};
        bool writer_set = false;
        for (;;) {
          std::optional<StreamEvent> ev = std::move(g->held);
          g->held.reset();
          if (!ev) {
            if (direct && !writer_set) {
              writer_set = true;
              g->call.stream->set_token_writer([g, &sink, line_of](const std::string& text) {
                if (text.empty()) return true;  // "accepted"
                if (!g->client->writable_now()) return false;
                std::string line = line_of(g->shape.chunk(g->model, text));
                return sink.write(line.data(), line.size());
              });
            } else if (writer_set) {
              g->call.stream->written();
            }
            ev = g->call.stream->pop(kPoll);
          }
          if (!ev) {
            if (direct ? g->client->gone() : !sink.is_writable()) return false;
            continue;
          }
          json out;
          if (ev->kind == StreamEvent::Kind::Token) {
            if (ev->text.empty()) continue;  // "accepted"
            out = g->shape.chunk(g->model, ev->text);
          } else if (ev->kind == StreamEvent::Kind::Error) {
            out = {{"error", ev->text}};
            g->finished = true;
          } else {
            out = g->shape.final(g->model, ev->stats, ns_since(g->t0), g->call.lease->load_ns(), "");
            g->finished = true;
          }
          std::string line = line_of(out);
          if (!sink.write(line.data(), line.size())) return false;
          if (g->finished) {
            sink.done();
            return true;
          }
        }
      },
      [gen](bool) {
        // Client gone before the end: stop the generation so the slot frees at once.
        if (!gen->finished && gen->call.lease) gen->call.lease->runner().cancel(gen->call.stream->id());
        gen->call.lease.reset();
      });
}

json tag_entry(const supervisor::ModelEntry& e) {
  const auto& info = *e.info;
  auto mtime = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(e.mtime_ns)));
  uint64_t params = info.parameter_count();
  char psize[32];
  if (params >= 1000000000)
    std::snprintf(psize, sizeof psize, "%.1fB", params / 1e9);
  else
    std::snprintf(psize, sizeof psize, "%.0fM", params / 1e6);
  return {{"name", e.name + ":latest"},
          {"model", e.name + ":latest"},
          {"modified_at", format_rfc3339(mtime)},
          {"size", e.file_size},
          {"digest", ""},
          {"details",
           {{"format", "gguf"},
            {"family", info.architecture()},
            {"families", json::array({info.architecture()})},
            {"parameter_size", psize},
            {"quantization_level", info.quantization_level()}}}};
}

}  // namespace

void add_ollama_routes(httplib::Server& srv, ServerContext ctx) {
  srv.Post("/api/generate", [ctx](const httplib::Request& req, httplib::Response& res) { handle_generation(req, res, ctx, false); });
  srv.Post("/api/chat", [ctx](const httplib::Request& req, httplib::Response& res) { handle_generation(req, res, ctx, true); });
  srv.Get("/api/tags", [ctx](const httplib::Request&, httplib::Response& res) {
    json models = json::array();
    for (const auto& e : ctx.registry.list())
      if (e.info) models.push_back(tag_entry(e));
    send_json(res, 200, {{"models", models}});
  });
  srv.Get("/api/ps", [ctx](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"models", ctx.manager.ps()}}); });
}

}  // namespace ebb::api
