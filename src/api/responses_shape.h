#pragma once
// OpenAI's Responses API answer for POST /v1/responses: the "response" object, or, streamed, its
// server-sent events ("event: TYPE\ndata: {json}\n\n", each with "type" and "sequence_number"):
// response.created, response.in_progress, the output items' events (api/responses_output.h),
// then response.completed, or response.incomplete (max_output_tokens, or the context, cut the
// answer), or response.failed (the generation failed after the stream started). No [DONE].
#include <cstdint>
#include <mutex>
#include <string>

#include "api/response_shape.h"
#include "api/responses_output.h"

namespace ebb::api {

// The Responses usage object from the runner's done message: input_tokens (the whole prompt),
// output_tokens, total_tokens, input_tokens_details.cached_tokens (prompt tokens not evaluated
// again), output_tokens_details.reasoning_tokens (0: the runner does not count them apart).
nlohmann::json responses_usage(const nlohmann::json& done);

class ResponsesShape : public ResponseShape {
 public:
  // `settings`: the request's echoed settings (api/responses_request.h's response_settings).
  ResponsesShape(std::string model, nlohmann::json settings);
  // With a given id, creation time and item ids (unit tests).
  ResponsesShape(std::string model, nlohmann::json settings, std::string id, int64_t created_at,
                 ResponsesOutput::IdSource ids);

  const std::string& id() const { return id_; }

  std::string content_type() const override { return "text/event-stream"; }
  // response.created and response.in_progress.
  std::string opening() const override;
  std::string chunk(const MessageDelta& delta) const override;
  // The open item's .done events, then response.completed or response.incomplete.
  std::string final(const nlohmann::json& done, Timing timing) const override;
  // response.failed, with the output so far and {"error": {"code": "server_error", "message"}}.
  std::string error(const std::string& message) const override;
  nlohmann::json whole(const MessageDelta& message, const nlohmann::json& done, Timing timing) const override;

 private:
  nlohmann::json response(const char* status, nlohmann::json output, nlohmann::json usage) const;
  // The response's status and incomplete_details for the runner's done message.
  nlohmann::json ended(const nlohmann::json& done, nlohmann::json output) const;
  // `e` numbered and framed; the caller holds mu_.
  std::string event(nlohmann::json e) const;
  std::string events(std::vector<nlohmann::json> es) const;

  std::string model_;
  nlohmann::json settings_;
  std::string id_;
  int64_t created_at_;
  ResponsesOutput::IdSource ids_;
  // A stream's state. Its events are written on the HTTP thread or, for plain text, on the
  // runner's reader thread, never both at once (supervisor/request_stream.h); the lock makes
  // that hand-over plain.
  mutable std::mutex mu_;
  mutable ResponsesOutput output_;
  mutable int64_t sequence_ = 0;
};

}  // namespace ebb::api
