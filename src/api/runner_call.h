#pragma once
// One request on a model's runner, shared by the generate/chat and embed routes: the lease that
// keeps the model ready, and the stream of the runner's answers.
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/client_watch.h"
#include "api/http_util.h"
#include "api/model_defaults.h"
#include "api/server.h"
#include "common/message_delta.h"
#include "supervisor/request_stream.h"

namespace ebb::api {

// The common start of a model request: the body parsed by `parse` (400 on std::invalid_argument or a
// JSON type error), unknown options logged, the model looked up (404). nullopt once `res` has been
// answered.
template <class Request, class Parse>
std::optional<std::pair<Request, supervisor::ModelEntry>> read_model_request(const httplib::Request& req,
                                                                             httplib::Response& res, ServerContext ctx,
                                                                             Parse&& parse) {
  auto body = parse_body(req, res);
  if (!body) return std::nullopt;
  Request r;
  try {
    r = parse(*body);
  } catch (const std::invalid_argument& e) {
    send_error(res, 400, e.what());
    return std::nullopt;
  } catch (const nlohmann::json::exception& e) {
    // A field of a type the parser did not expect: the client's body, not the server, is at fault.
    send_error(res, 400, std::string("invalid request: ") + e.what());
    return std::nullopt;
  }
  for (const auto& k : r.options.unknown) spdlog::warn("ignoring unknown option '{}'", k);
  auto entry = ctx.registry.find(r.model);
  if (!entry) {
    send_model_not_found(res, r.model);
    return std::nullopt;
  }
  try {
    apply_model_defaults(r, *entry);
  } catch (const std::invalid_argument& e) {
    send_error(res, 400, e.what());
    return std::nullopt;
  }
  return std::make_pair(std::move(r), std::move(*entry));
}

struct RunnerCall {
  std::unique_ptr<supervisor::ModelManager::Lease> lease;
  std::shared_ptr<supervisor::RequestStream> stream;
  std::chrono::steady_clock::time_point next_client_check{};  // see next_event
};

// The model's lease alone (an empty prompt only loads). On failure answers `res` (503 no room,
// with a Retry-After header; 500 load failed) and returns nullptr; also nullptr when the client
// hangs up while it waits.
std::unique_ptr<supervisor::ModelManager::Lease> acquire_lease(ServerContext ctx, const supervisor::ModelEntry& entry,
                                                               const ContextOptions& options,
                                                               std::optional<KeepAlive> keep_alive,
                                                               const ClientWatch& client, httplib::Response& res);

// Acquires the model and submits `msg` (a runner "generate" or "embed" message without id).
// generate messages ask for KV snapshots when the supervisor holds some. On failure answers
// `res` and returns nullopt.
std::optional<RunnerCall> start_call(ServerContext ctx, const supervisor::ModelEntry& entry,
                                     const ContextOptions& options, std::optional<KeepAlive> keep_alive,
                                     nlohmann::json msg, const ClientWatch& client, httplib::Response& res);

// Blocks for the call's next event (a runner that dies ends the stream with an error). When the
// client hangs up first, cancels the request in the runner and returns nullopt.
std::optional<supervisor::StreamEvent> next_event(RunnerCall& call, const ClientWatch& client);

// A token event's part of the message.
inline MessageDelta delta_of(const supervisor::StreamEvent& ev) {
  MessageDelta d = MessageDelta::text(ev.text);
  d.thinking = ev.thinking;
  if (ev.tool_calls.is_array()) d.tool_calls = ev.tool_calls;
  d.logprobs = ev.logprobs;
  return d;
}

// The HTTP status of a runner error: its "status" (400 when the request was at fault), else 500.
int error_status(const supervisor::StreamEvent& ev);

}  // namespace ebb::api
