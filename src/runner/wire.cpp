#include "runner/wire.h"

#include <cstdint>

#include "common/protocol.h"

namespace ebb::runner {

bool send_blob(int fd, std::string_view blob) {
  namespace proto = ebb::protocol;
  if (blob.size() > proto::kMaxFrameBytes) return false;
  const auto n = static_cast<uint32_t>(blob.size());
  const char header[5] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                          static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff),
                          static_cast<char>(proto::FrameKind::Binary)};
  return proto::write_all(fd, std::string_view(header, sizeof header)) && proto::write_all(fd, blob);
}

}  // namespace ebb::runner
