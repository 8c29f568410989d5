#pragma once
// A request that has no slot yet, already checked and tokenized when it arrived (see
// requests.h). A generate with "snapshots": true may be parked while the supervisor looks for a
// KV snapshot (want_snapshot → restore); other slots keep decoding.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/options.h"
#include "common/shared_blob.h"
#include "engine/chat_format.h"
#include "engine/sampler.h"

namespace ebb::runner {

struct PendingRequest {
  enum class Kind { Generate, Embed };
  enum class Snapshot { NotAsked, Waiting, Answered };

  Kind kind = Kind::Generate;
  uint64_t id = 0;
  // Generate.
  std::optional<std::vector<int32_t>> prompt;
  SamplingOptions options;
  engine::SamplerPtr sampler;
  // Set when the output is parsed (tools, reasoning: runner/chat_request.h).
  std::shared_ptr<const engine::ChatOutputParser> parser;
  bool keep_thinking = true;
  // "logprobs": report each generated token's log-probability, and top_logprobs alternatives.
  bool logprobs = false;
  int top_logprobs = 0;
  std::shared_ptr<engine::ChatPrompt> chat;  // until the sampler holds its grammar
  bool truncate = true;                      // false: never cut the prompt to fit
  bool snapshots = false;                    // the supervisor holds snapshots: may ask for one
  Snapshot snapshot = Snapshot::NotAsked;
  std::vector<int32_t> snapshot_tokens;        // the supervisor's answer; state empty: none found
  std::shared_ptr<SharedBlob> snapshot_state;  // null: none found
  // Embed: one token list per input.
  std::vector<std::vector<int32_t>> inputs;

  bool parked() const { return snapshot == Snapshot::Waiting; }
};

}  // namespace ebb::runner
