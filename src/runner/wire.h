#pragma once
// Runner-side sending helpers on top of common/protocol.h.
#include <string_view>

namespace ebb::runner {

// Sends one binary frame without copying the payload into a frame buffer first (snapshots can
// be hundreds of MiB, and a copy would be a memory spike right when memory is being freed).
bool send_blob(int fd, std::string_view blob);

}  // namespace ebb::runner
