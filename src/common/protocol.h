#pragma once
// Supervisor <-> runner wire protocol over a Unix stream socket.
//
// Every frame: u32 little-endian payload length, u8 kind, payload.
//   kind 0 = JSON text (one message, with a "type" field)
//   kind 1 = binary blob (belongs to the JSON message sent just before it)
//   kind 2 = shared memory: the payload is the u64 byte size of a sealed memfd whose descriptor
//            travels with the frame as SCM_RIGHTS (belongs to the JSON message just before it)
// The runner's first message is {"type":"hello","protocol":kProtocolVersion}.
// Message types are documented in docs/protocol.md.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/shared_blob.h"

namespace ebb::protocol {

constexpr int kProtocolVersion = 2;
constexpr uint32_t kMaxFrameBytes = 1u << 30;  // 1 GiB: large enough for KV snapshots

enum class FrameKind : uint8_t { Json = 0, Binary = 1, Shared = 2 };

struct Frame {
  FrameKind kind = FrameKind::Json;
  std::string payload;
  std::shared_ptr<SharedBlob> blob;  // kind Shared only
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
  FrameDecoder() = default;
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;
  ~FrameDecoder();
  void feed(const char* data, size_t n);
  // A descriptor that arrived with the bytes; the next Shared frame takes it (in order).
  void feed_fd(int fd) { fds_.push_back(fd); }
  // Returns the next complete frame, if any. Throws ProtocolError on a bad header.
  std::optional<Frame> next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
  std::deque<int> fds_;
};

// Blocking helpers on a socket fd. write_all returns false when the peer is gone.
bool write_all(int fd, std::string_view bytes);
bool send_json(int fd, const nlohmann::json& msg);
bool send_binary(int fd, std::string_view blob);
// One Shared frame with the blob's descriptor attached; the blob itself is not copied.
bool send_shared(int fd, const SharedBlob& blob);

// Reads what the socket has into the decoder, descriptors included. Returns the byte count,
// 0 at EOF, -1 on error (errno set).
ssize_t receive(int fd, FrameDecoder& decoder);

// Blocking read of one frame; std::nullopt on clean EOF. Throws ProtocolError on garbage.
std::optional<Frame> read_frame(int fd, FrameDecoder& decoder);

}  // namespace ebb::protocol
