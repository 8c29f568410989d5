#include "api/generation.h"

#include <optional>
#include <string>

#include "api/http_util.h"
#include "api/model_defaults.h"
#include "api/runner_call.h"
#include "api/token_stream.h"
#include "common/capabilities.h"

namespace ebb::api {

using supervisor::StreamEvent;

void serve_generation(ServerContext ctx, const supervisor::ModelEntry& entry, const GenerateRequest& r,
                      const ClientWatch& client, std::shared_ptr<const ResponseShape> shape,
                      std::chrono::steady_clock::time_point t0, httplib::Response& res) {
  if (entry.info)
    if (auto missing = missing_capability(r, entry_capabilities(entry, *entry.info)))
      return send_error(res, kCapabilityErrorStatus, *missing);
  auto call = start_call(ctx, entry, r.options.context, r.keep_alive, r.runner_msg, client, res);
  if (!call) return;

  // The runner checks the request on arrival and answers "accepted" (an empty token) or an
  // error; waiting for that before any header goes out lets a bad request still be a 400.
  // A client that hangs up meanwhile cancels the request (next_event returns nothing).
  std::optional<StreamEvent> first = next_event(*call, client);
  if (!first) return;
  if (first->kind == StreamEvent::Kind::Error) return send_error(res, error_status(*first), first->text);

  if (!r.stream) {
    MessageDelta message;
    for (std::optional<StreamEvent> ev = std::move(first); ev; ev = next_event(*call, client)) {
      if (ev->kind == StreamEvent::Kind::Error) return send_error(res, error_status(*ev), ev->text);
      if (ev->kind == StreamEvent::Kind::Done) {
        const auto total = std::chrono::steady_clock::now() - t0;
        const Timing timing{std::chrono::duration_cast<std::chrono::nanoseconds>(total).count(),
                            call->lease->load_ns()};
        return send_json(res, 200, shape->whole(message, ev->stats, timing));
      }
      message.append(delta_of(*ev));
    }
    return;
  }

  const std::string content_type = shape->content_type();
  auto tokens = std::make_shared<TokenStream>(std::move(*call), std::move(first), client, std::move(shape), t0);
  res.set_chunked_content_provider(
      content_type, [tokens](size_t, httplib::DataSink& sink) { return tokens->write_to(sink); },
      [tokens](bool) { tokens->close(); });
}

}  // namespace ebb::api
