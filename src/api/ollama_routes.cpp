// Ollama API: /api/generate, /api/chat, /api/tags, /api/ps.
#include <chrono>
#include <memory>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/http_util.h"
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
  std::unique_ptr<supervisor::ModelManager::Lease> lease;
  std::shared_ptr<supervisor::RequestStream> stream;
  Clock::time_point t0;
  std::string model;
  Shape shape;
  bool finished = false;
};

constexpr auto kPoll = std::chrono::milliseconds(200);

std::optional<std::string> error_of_request(const json& body, const char* what) {
  if (!body.contains("model") || !body["model"].is_string() || body["model"].get<std::string>().empty())
    return std::string("model is required");
  if (body.contains("stream") && !body["stream"].is_boolean()) return std::string("'stream' must be a boolean");
  (void)what;
  return std::nullopt;
}

// Builds the runner message for /api/generate or /api/chat; throws std::invalid_argument on bad fields.
json runner_message(const json& body, bool chat, const SamplingOptions& sampling) {
  json m = {{"options", to_json(sampling)}};
  if (chat) {
    if (!body.contains("messages") || !body["messages"].is_array()) throw std::invalid_argument("'messages' must be an array");
    json msgs = json::array();
    for (const auto& x : body["messages"]) {
      if (!x.is_object() || !x.value("role", json()).is_string() || (x.contains("content") && !x["content"].is_string()))
        throw std::invalid_argument("each message needs a string 'role' and 'content'");
      msgs.push_back({{"role", x["role"]}, {"content", x.value("content", "")}});
    }
    m["mode"] = "chat";
    m["messages"] = msgs;
  } else {
    for (const char* k : {"prompt", "system"})
      if (body.contains(k) && !body[k].is_string()) throw std::invalid_argument(std::string("'") + k + "' must be a string");
    if (body.contains("raw") && !body["raw"].is_boolean()) throw std::invalid_argument("'raw' must be a boolean");
    m["mode"] = "generate";
    m["prompt"] = body.value("prompt", "");
    m["system"] = body.value("system", "");
    m["raw"] = body.value("raw", false);
  }
  return m;
}

void handle_generation(const httplib::Request& req, httplib::Response& res, ServerContext ctx, bool chat) {
  auto t0 = Clock::now();
  auto body = parse_body(req, res);
  if (!body) return;
  if (auto err = error_of_request(*body, chat ? "chat" : "generate")) return send_error(res, 400, *err);
  std::string model = body->at("model").get<std::string>();
  bool stream = body->value("stream", true);

  ParsedOptions opts;
  std::optional<KeepAlive> keep_alive;
  json msg;
  try {
    opts = parse_options(body->value("options", json()));
    if (body->contains("keep_alive") && !(*body)["keep_alive"].is_null()) keep_alive = parse_keep_alive((*body)["keep_alive"]);
    msg = runner_message(*body, chat, opts.sampling);
  } catch (const std::invalid_argument& e) {
    return send_error(res, 400, e.what());
  }
  for (const auto& k : opts.unknown) spdlog::warn("ignoring unknown option '{}'", k);

  auto entry = ctx.registry.find(model);
  if (!entry) return send_error(res, 404, "model '" + model + "' not found");

  // An empty prompt (or no messages) only loads the model; with keep_alive 0 it unloads it.
  bool empty = chat ? msg["messages"].empty() : msg["prompt"].get<std::string>().empty();
  if (empty) {
    Shape shape{chat};
    if (keep_alive && keep_alive->is_zero()) {
      try {
        ctx.manager.unload(*entry, false);
      } catch (const supervisor::Conflict& e) {
        return send_error(res, 409, e.what());
      }
      json j = shape.chunk(model, "");
      j["done"] = true;
      j["done_reason"] = "unload";
      return send_json(res, 200, j);
    }
    try {
      int64_t load_ns = 0;
      {
        auto lease = ctx.manager.acquire(*entry, opts.context, keep_alive);
        load_ns = lease.load_ns();
      }
      json j = shape.chunk(model, "");
      j["done"] = true;
      j["done_reason"] = "load";
      j["load_duration"] = load_ns;
      j["total_duration"] = ns_since(t0);
      return send_json(res, 200, j);
    } catch (const supervisor::Unavailable& e) {
      return send_error(res, 503, e.what());
    } catch (const std::exception& e) {
      return send_error(res, 500, e.what());
    }
  }

  auto gen = std::make_shared<Generation>();
  gen->t0 = t0;
  gen->model = model;
  gen->shape.chat = chat;
  try {
    gen->lease = std::make_unique<supervisor::ModelManager::Lease>(ctx.manager.acquire(*entry, opts.context, keep_alive));
    if (gen->lease->snapshots()) msg["snapshots"] = true;
    gen->stream = gen->lease->runner().submit(msg);
  } catch (const supervisor::Unavailable& e) {
    return send_error(res, 503, e.what());
  } catch (const std::exception& e) {
    return send_error(res, 500, e.what());
  }

  if (!stream) {
    std::string text;
    for (;;) {
      auto ev = gen->stream->pop(kPoll);
      if (!ev) continue;
      if (ev->kind == StreamEvent::Kind::Token) {
        text += ev->text;
      } else if (ev->kind == StreamEvent::Kind::Error) {
        return send_error(res, 500, ev->text);
      } else {
        return send_json(res, 200, gen->shape.final(model, ev->stats, ns_since(t0), gen->lease->load_ns(), text));
      }
    }
  }

  res.set_chunked_content_provider(
      "application/x-ndjson",
      [gen](size_t, httplib::DataSink& sink) {
        for (;;) {
          auto ev = gen->stream->pop(kPoll);
          if (!ev) {
            if (!sink.is_writable()) return false;
            continue;
          }
          json out;
          if (ev->kind == StreamEvent::Kind::Token) {
            out = gen->shape.chunk(gen->model, ev->text);
          } else if (ev->kind == StreamEvent::Kind::Error) {
            out = {{"error", ev->text}};
            gen->finished = true;
          } else {
            out = gen->shape.final(gen->model, ev->stats, ns_since(gen->t0), gen->lease->load_ns(), "");
            gen->finished = true;
          }
          std::string line = out.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
          if (!sink.write(line.data(), line.size())) return false;
          if (gen->finished) {
            sink.done();
            return true;
          }
        }
      },
      [gen](bool) {
        // Client gone before the end: stop the generation so the slot frees at once.
        if (!gen->finished && gen->lease) gen->lease->runner().cancel(gen->stream->id());
        gen->lease.reset();
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
