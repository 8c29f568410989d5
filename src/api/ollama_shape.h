#pragma once
// Ollama's response objects for /api/generate ("response") and /api/chat ("message"), one NDJSON
// line each when streamed.
#include <string>

#include "api/response_shape.h"

namespace ebb::api {

class OllamaShape : public ResponseShape {
 public:
  OllamaShape(std::string model, bool chat) : model_(std::move(model)), chat_(chat) {}

  // The object every line starts from: model, created_at (now), the text, "done": false.
  nlohmann::json object(const std::string& text) const;
  // The last object: `object(text)` with done, done_reason and the runner's counts and durations.
  nlohmann::json last(const std::string& text, const nlohmann::json& done, Timing timing) const;

  std::string content_type() const override { return "application/x-ndjson"; }
  std::string chunk(const std::string& text) const override { return wire_json(object(text)) + "\n"; }
  std::string final(const nlohmann::json& done, Timing timing) const override {
    return wire_json(last("", done, timing)) + "\n";
  }
  std::string error(const std::string& message) const override { return wire_json({{"error", message}}) + "\n"; }
  nlohmann::json whole(const std::string& text, const nlohmann::json& done, Timing timing) const override {
    return last(text, done, timing);
  }

 private:
  std::string model_;
  bool chat_;
};

}  // namespace ebb::api
