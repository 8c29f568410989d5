#include "common/protocol.h"

#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <sys/uio.h>

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

FrameDecoder::~FrameDecoder() {
  for (int fd : fds_) ::close(fd);
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
  if (kind > static_cast<uint8_t>(FrameKind::Shared)) throw ProtocolError("unknown frame kind " + std::to_string(kind));
  if (kind == static_cast<uint8_t>(FrameKind::Shared) && n != 8)
    throw ProtocolError("shared frame of " + std::to_string(n) + " bytes");
  if (buffered() < 5 + static_cast<size_t>(n)) return std::nullopt;
  Frame f{static_cast<FrameKind>(kind), buf_.substr(pos_ + 5, n), nullptr};
  pos_ += 5 + n;
  if (f.kind == FrameKind::Shared) {
    if (fds_.empty()) throw ProtocolError("shared frame without a descriptor");
    int fd = fds_.front();
    fds_.pop_front();
    uint64_t size = 0;
    for (int i = 0; i < 8; ++i) size |= static_cast<uint64_t>(static_cast<unsigned char>(f.payload[i])) << (8 * i);
    try {
      f.blob = SharedBlob::adopt(fd, size);
    } catch (const std::exception& e) {
      throw ProtocolError(e.what());
    }
    f.payload.clear();
  }
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
  return write_all(fd,
                   encode_frame(FrameKind::Json, msg.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

bool send_binary(int fd, std::string_view blob) { return write_all(fd, encode_frame(FrameKind::Binary, blob)); }

bool send_shared(int fd, const SharedBlob& blob) {
  char frame[13] = {8, 0, 0, 0, static_cast<char>(FrameKind::Shared)};
  uint64_t size = blob.size();
  for (int i = 0; i < 8; ++i) frame[5 + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  iovec iov{frame, sizeof frame};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int passed = blob.fd();
  std::memcpy(CMSG_DATA(c), &passed, sizeof passed);
  ssize_t w;
  do {
    w = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (w < 0 && errno == EINTR);
  if (w < 0) return false;
  // The descriptor went with the first byte; the rest of the frame is plain bytes.
  return static_cast<size_t>(w) == sizeof frame || write_all(fd, std::string_view(frame + w, sizeof frame - w));
}

ssize_t receive(int fd, FrameDecoder& decoder) {
  char buf[64 * 1024];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t r = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  if (r < 0) return r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int passed;
      std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
      decoder.feed_fd(passed);
    }
  }
  decoder.feed(buf, static_cast<size_t>(r));
  return r;
}

std::optional<Frame> read_frame(int fd, FrameDecoder& decoder) {
  for (;;) {
    if (auto f = decoder.next()) return f;
    ssize_t r = receive(fd, decoder);
    if (r == 0) {
      if (decoder.buffered() > 0) throw ProtocolError("connection closed in the middle of a frame");
      return std::nullopt;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return std::nullopt;
      throw ProtocolError(std::string("read: ") + std::strerror(errno));
    }
  }
}

}  // namespace ebb::protocol
