#pragma once
// The byte layout of llama_state_seq_get_data in the pinned llama.cpp, for one KV-cache model:
//   u32 magic, i32 seq_id, u32 n_stream, then n_stream sections (u32 cell count + that stream's cells).
// With a non-unified cache (ebb's setting) there is one stream per sequence, so a snapshot has
// one non-empty section and n_stream - 1 empty ones (a zero count). llama.cpp refuses a snapshot
// whose n_stream differs from the context's; restream_seq_state rewrites the count so a snapshot
// saved with num_parallel A restores into a context with num_parallel B. No llama.h here.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ebb::engine {

// The stream count in a snapshot's header; nullopt when it is too short to hold one.
std::optional<uint32_t> seq_state_streams(std::string_view state);

// The same snapshot with `n_stream` sections. nullopt when the layout is not one non-empty
// section among empty ones (then it cannot be moved, and the caller treats it as unusable).
std::optional<std::string> restream_seq_state(std::string_view state, uint32_t n_stream);

}  // namespace ebb::engine
