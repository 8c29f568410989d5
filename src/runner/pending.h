#pragma once
// A generate request that has no slot yet. With "snapshots": true it may be parked while the
// supervisor looks for a KV snapshot (want_snapshot → restore); other slots keep decoding.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb::runner {

struct PendingRequest {
  enum class Snapshot { NotAsked, Waiting, Answered };

  nlohmann::json msg;
  uint64_t id = 0;
  std::optional<std::vector<int32_t>> prompt;  // tokenized once, on first look
  Snapshot snapshot = Snapshot::NotAsked;
  std::vector<int32_t> snapshot_tokens;        // the supervisor's answer; state empty: none found
  std::string snapshot_state;

  bool parked() const { return snapshot == Snapshot::Waiting; }
};

}  // namespace ebb::runner
