#include "common/protocol.h"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace ebb::protocol {

std::string encode_frame(FrameKind kind, std::string_view payload) {
  if (payload.size() > kMaxFrameBytes) throw ProtocolError("frame too large: " + std::to_string(payload.size()));
  std::string out;
  out.resize(5 + payload.size());
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out[4] = static_cast<char>(kind);
  std::memcpy(out.data() + 5, payload.data(), payload.size());
  return out;
}

void FrameDecoder::feed(const char* data, size_t n) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20) && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, n);
}

std::optional<Frame> FrameDecoder::next() {
  if (buffered() < 5) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  uint32_t n = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
  uint8_t kind = p[4];
  if (n > kMaxFrameBytes) throw ProtocolError("frame length " + std::to_string(n) + " exceeds limit");
  if (kind > static_cast<uint8_t>(FrameKind::Binary)) throw ProtocolError("unknown frame kind " + std::to_string(kind));
  if (buffered() < 5 + static_cast<size_t>(n)) return std::nullopt;
  Frame f{static_cast<FrameKind>(kind), buf_.substr(pos_ + 5, n)};
  pos_ += 5 + n;
  return f;
}

bool write_all(int fd, std::string_view bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t w = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(w);
  }
  return true;
}

bool send_json(int fd, const nlohmann::json& msg) {
  return write_all(fd, encode_frame(FrameKind::Json, msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

bool send_binary(int fd, std::string_view blob) { return write_all(fd, encode_frame(FrameKind::Binary, blob)); }

std::optional<Frame> read_frame(int fd, FrameDecoder& decoder) {
  char buf[64 * 1024];
  for (;;) {
    if (auto f = decoder.next()) return f;
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r == 0) {
      if (decoder.buffered() > 0) throw ProtocolError("connection closed in the middle of a frame");
      return std::nullopt;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return std::nullopt;
      throw ProtocolError(std::string("read: ") + std::strerror(errno));
    }
    decoder.feed(buf, static_cast<size_t>(r));
  }
}

}  // namespace ebb::protocol
