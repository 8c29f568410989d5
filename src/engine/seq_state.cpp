#include "engine/seq_state.h"

#include <cstring>

namespace ebb::engine {
namespace {

constexpr size_t kHeader = 12;  // magic, seq_id, n_stream
constexpr size_t kStreamsAt = 8;

uint32_t read_u32(std::string_view s, size_t at) {
  uint32_t v;
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}

void append_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

}  // namespace

std::optional<uint32_t> seq_state_streams(std::string_view state) {
  if (state.size() < kHeader) return std::nullopt;
  return read_u32(state, kStreamsAt);
}

std::optional<std::string> restream_seq_state(std::string_view state, uint32_t n_stream) {
  auto have = seq_state_streams(state);
  if (!have || *have == 0 || n_stream == 0) return std::nullopt;
  const uint32_t n = *have;
  if (state.size() < kHeader + 4ull * n) return std::nullopt;
  // Leading empty sections, then (maybe) one non-empty section, then trailing empty ones.
  size_t at = kHeader;
  uint32_t leading = 0;
  while (leading < n && read_u32(state, at) == 0) ++leading, at += 4;
  std::string_view section;
  if (leading < n) {
    const size_t trailing = 4ull * (n - leading - 1);
    if (state.size() < at + 4 + trailing) return std::nullopt;
    for (size_t i = state.size() - trailing; i < state.size(); i += 4)
      if (read_u32(state, i) != 0) return std::nullopt;
    section = state.substr(at, state.size() - trailing - at);
  } else if (at != state.size()) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(kHeader + section.size() + 4ull * n_stream);
  out.append(state.substr(0, kStreamsAt));
  append_u32(out, n_stream);
  out.append(section);  // the stream a section lands in is chosen by the destination sequence
  for (uint32_t i = section.empty() ? 0 : 1; i < n_stream; ++i) append_u32(out, 0);
  return out;
}

}  // namespace ebb::engine
