#include "api/runner_call.h"

#include <chrono>

#include "api/http_util.h"

namespace ebb::api {

using json = nlohmann::json;

std::unique_ptr<supervisor::ModelManager::Lease> acquire_lease(ServerContext ctx, const supervisor::ModelEntry& entry,
                                                               const ContextOptions& options,
                                                               std::optional<KeepAlive> keep_alive,
                                                               const ClientWatch& client, httplib::Response& res) {
  try {
    return std::make_unique<supervisor::ModelManager::Lease>(
        ctx.manager.acquire(entry, options, keep_alive, [&client] { return client.gone(); }));
  } catch (const supervisor::Cancelled& e) {
    send_error(res, 499, e.what());  // nobody reads it
  } catch (const supervisor::Unavailable& e) {
    res.set_header("Retry-After", std::to_string(e.retry_after().count()));
    send_error(res, 503, e.what());
  } catch (const std::exception& e) {
    send_error(res, 500, e.what());
  }
  return nullptr;
}

std::optional<RunnerCall> start_call(ServerContext ctx, const supervisor::ModelEntry& entry,
                                     const ContextOptions& options, std::optional<KeepAlive> keep_alive, json msg,
                                     const ClientWatch& client, httplib::Response& res) {
  RunnerCall call;
  call.lease = acquire_lease(ctx, entry, options, keep_alive, client, res);
  if (!call.lease) return std::nullopt;
  try {
    if (msg.value("type", "generate") == "generate" && call.lease->snapshots()) msg["snapshots"] = true;
    call.stream = call.lease->runner().submit(std::move(msg));
  } catch (const std::exception& e) {
    send_error(res, 500, e.what());
    return std::nullopt;
  }
  return call;
}

std::optional<supervisor::StreamEvent> next_event(RunnerCall& call, const ClientWatch& client) {
  constexpr auto kCheckEvery = std::chrono::milliseconds(200);
  for (;;) {
    // Tokens may arrive faster than any timeout: look at the client on a clock, not on silence.
    auto now = std::chrono::steady_clock::now();
    if (now >= call.next_client_check) {
      call.next_client_check = now + kCheckEvery;
      if (client.gone()) {
        call.lease->runner().cancel(call.stream->id());
        return std::nullopt;
      }
    }
    if (auto ev = call.stream->pop(kCheckEvery)) return ev;
  }
}

int error_status(const supervisor::StreamEvent& ev) {
  int status = ev.stats.is_object() ? ev.stats.value("status", 500) : 500;
  return status >= 400 && status <= 599 ? status : 500;
}

}  // namespace ebb::api
