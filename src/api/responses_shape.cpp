#include "api/responses_shape.h"

#include <chrono>

#include "api/openai_shape.h"

namespace ebb::api {

using json = nlohmann::json;

namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool cut(const json& done) { return done.value("done_reason", "stop") == "length"; }

}  // namespace

json responses_usage(const json& done) {
  const json u = openai_usage(done);
  return {{"input_tokens", u["prompt_tokens"]},
          {"input_tokens_details", {{"cached_tokens", u["prompt_tokens_details"]["cached_tokens"]}}},
          {"output_tokens", u["completion_tokens"]},
          {"output_tokens_details", {{"reasoning_tokens", 0}}},
          {"total_tokens", u["total_tokens"]}};
}

ResponsesShape::ResponsesShape(std::string model, json settings)
    : ResponsesShape(std::move(model), std::move(settings), openai_id("resp_"), now_seconds(), openai_id) {}

ResponsesShape::ResponsesShape(std::string model, json settings, std::string id, int64_t created_at,
                               ResponsesOutput::IdSource ids)
    : model_(std::move(model)),
      settings_(std::move(settings)),
      id_(std::move(id)),
      created_at_(created_at),
      ids_(ids),
      output_(std::move(ids)) {}

json ResponsesShape::response(const char* status, json output, json usage) const {
  json r = settings_;
  r.update({{"id", id_},
            {"object", "response"},
            {"created_at", created_at_},
            {"status", status},
            {"error", nullptr},
            {"incomplete_details", nullptr},
            {"model", model_},
            {"output", std::move(output)},
            {"usage", std::move(usage)}});
  return r;
}

json ResponsesShape::ended(const json& done, json output) const {
  json r = response(cut(done) ? "incomplete" : "completed", std::move(output), responses_usage(done));
  if (cut(done)) r["incomplete_details"] = {{"reason", "max_output_tokens"}};
  return r;
}

std::string ResponsesShape::event(json e) const {
  e["sequence_number"] = sequence_++;
  return "event: " + e["type"].get<std::string>() + "\ndata: " + wire_json(e) + "\n\n";
}

std::string ResponsesShape::events(std::vector<json> es) const {
  std::string out;
  for (auto& e : es) out += event(std::move(e));
  return out;
}

std::string ResponsesShape::opening() const {
  std::lock_guard lk(mu_);
  std::string out;
  for (const char* type : {"response.created", "response.in_progress"})
    out += event({{"type", type}, {"response", response("in_progress", json::array(), nullptr)}});
  return out;
}

std::string ResponsesShape::chunk(const MessageDelta& d) const {
  std::lock_guard lk(mu_);
  return events(output_.add(d));
}

std::string ResponsesShape::final(const json& done, Timing) const {
  std::lock_guard lk(mu_);
  std::string out = events(output_.finish(!cut(done)));
  const json r = ended(done, output_.items());
  return out + event({{"type", cut(done) ? "response.incomplete" : "response.completed"}, {"response", r}});
}

std::string ResponsesShape::error(const std::string& message) const {
  std::lock_guard lk(mu_);
  json r = response("failed", output_.items(), nullptr);
  r["error"] = {{"code", "server_error"}, {"message", message}};
  return event({{"type", "response.failed"}, {"response", std::move(r)}});
}

json ResponsesShape::whole(const MessageDelta& m, const json& done, Timing) const {
  ResponsesOutput output(ids_);
  output.add(m);
  output.finish(!cut(done));
  return ended(done, output.items());
}

}  // namespace ebb::api
