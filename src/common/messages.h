#pragma once
// The runner protocol's message types (docs/protocol.md), named once for both sides.
//
// Control messages (supervisor → runner: load, create_context, release_kv, stats, calibrate,
// init_gpu) carry an "id" from the same counter as requests; the runner copies it into its reply
// (ready / load_error, kv_released, stats, calibrated, gpu_ready), and the supervisor matches
// replies by that id, so a late reply to an attempt that timed out never answers the next caller.
#include <cstddef>
#include <string_view>

namespace ebb::protocol {

enum class Msg {
  // supervisor → runner
  Load,
  Generate,
  Embed,
  Cancel,
  Restore,
  ReleaseKv,
  CreateContext,
  Calibrate,
  InitGpu,
  Shutdown,
  // runner → supervisor
  Hello,
  Ready,
  LoadError,
  Accepted,
  Token,
  Done,
  Embeddings,
  Error,
  WantSnapshot,
  Snapshot,
  KvReleased,
  Calibrated,
  GpuReady,
  Progress,  // a busy runner finished a batch but had nothing else to say (the supervisor's watchdog)
  // both ways: the request and its answer share the name
  Stats,
  Unknown,
};

// The wire name ("load", "kv_released", ...); "" for Unknown.
std::string_view name(Msg m);
// The type of a wire name; Unknown for anything else.
Msg parse_msg(std::string_view type);

// A KV snapshot is worth moving (asked for, saved before its slot is overwritten, sent back)
// only when it covers at least this many more prompt tokens than the runner's slots already do.
inline constexpr size_t kSnapshotMinGain = 16;

}  // namespace ebb::protocol
