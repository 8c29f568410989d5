#pragma once
// Supervisor <-> runner wire protocol over a Unix stream socket.
//
// Every frame: u32 little-endian payload length, u8 kind, payload.
//   kind 0 = JSON text (one message, with a "type" field)
//   kind 1 = binary blob (belongs to the JSON message sent just before it)
// The runner's first message is {"type":"hello","protocol":kProtocolVersion}.
// Message types are documented in docs/protocol.md.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb::protocol {

constexpr int kProtocolVersion = 1;
constexpr uint32_t kMaxFrameBytes = 1u << 30;  // 1 GiB: large enough for KV snapshots

enum class FrameKind : uint8_t { Json = 0, Binary = 1 };

struct Frame {
  FrameKind kind = FrameKind::Json;
  std::string payload;
};

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Encodes one frame (header + payload).
std::string encode_frame(FrameKind kind, std::string_view payload);

// Incremental decoder: feed bytes as they arrive, pop complete frames.
class FrameDecoder {
 public:
  void feed(const char* data, size_t n);
  // Returns the next complete frame, if any. Throws ProtocolError on a bad header.
  std::optional<Frame> next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
};

// Blocking helpers on a socket fd. write_all returns false when the peer is gone.
bool write_all(int fd, std::string_view bytes);
bool send_json(int fd, const nlohmann::json& msg);
bool send_binary(int fd, std::string_view blob);

// Blocking read of one frame; std::nullopt on clean EOF. Throws ProtocolError on garbage.
std::optional<Frame> read_frame(int fd, FrameDecoder& decoder);

}  // namespace ebb::protocol
