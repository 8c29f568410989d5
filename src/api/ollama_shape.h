#pragma once
// Ollama's response objects for /api/generate ("response") and /api/chat ("message"), one NDJSON
// line each when streamed.
#include <string>

#include "api/response_shape.h"

namespace ebb::api {

class OllamaShape : public ResponseShape {
 public:
  OllamaShape(std::string model, bool chat) : model_(std::move(model)), chat_(chat) {}

  // The object every line starts from: model, created_at (now), the delta ("response" and
  // "thinking", or "message" with content, thinking and tool_calls when there are some; "logprobs"
  // when it has entries), "done": false.
  nlohmann::json object(const MessageDelta& delta) const;
  // The last object: `object(delta)` with done, done_reason and the runner's counts and durations.
  nlohmann::json last(const MessageDelta& delta, const nlohmann::json& done, Timing timing) const;

  std::string content_type() const override { return "application/x-ndjson"; }
  std::string chunk(const MessageDelta& delta) const override { return wire_json(object(delta)) + "\n"; }
  std::string final(const nlohmann::json& done, Timing timing) const override {
    return wire_json(last({}, done, timing)) + "\n";
  }
  std::string error(const std::string& message) const override { return wire_json({{"error", message}}) + "\n"; }
  nlohmann::json whole(const MessageDelta& message, const nlohmann::json& done, Timing timing) const override {
    return last(message, done, timing);
  }

 private:
  std::string model_;
  bool chat_;
};

}  // namespace ebb::api
