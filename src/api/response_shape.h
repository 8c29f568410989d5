#pragma once
// How one endpoint writes a generation. The request path is one (api/generation.h); the shapes
// differ: Ollama's NDJSON objects for /api/generate and /api/chat, OpenAI's SSE "data:" lines.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/message_delta.h"

namespace ebb::api {

// The request's clock when it ends: since it arrived, and the part spent loading the model.
struct Timing {
  int64_t total_ns = 0;
  int64_t load_ns = 0;
};

class ResponseShape {
 public:
  virtual ~ResponseShape() = default;
  // The streamed body's content type.
  virtual std::string content_type() const = 0;
  // Streamed lines, each ready for the wire (newlines included). `done` is the runner's done message.
  // `opening` goes out first, before any event's line ("" for none).
  virtual std::string opening() const { return ""; }
  virtual std::string chunk(const MessageDelta& delta) const = 0;
  virtual std::string final(const nlohmann::json& done, Timing timing) const = 0;
  virtual std::string error(const std::string& message) const = 0;
  // The whole answer of a request that does not stream (sent as application/json): `message` is
  // every delta appended.
  virtual nlohmann::json whole(const MessageDelta& message, const nlohmann::json& done, Timing timing) const = 0;
};

// One JSON value as it goes on the wire: compact, invalid UTF-8 replaced.
inline std::string wire_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ebb::api
