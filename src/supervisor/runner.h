#pragma once
// The seam between ModelManager and one runner: what the manager asks of a runner, whatever
// runs it. RunnerProcess (an `ebb runner` child over a socket) is the real one; unit tests drive
// the manager with fakes (tests/supervisor). Calls that wait for a reply throw RunnerError.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/shared_blob.h"
#include "supervisor/request_stream.h"
#include "supervisor/runner_messages.h"

namespace ebb::supervisor {

class RunnerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Runner {
 public:
  using Timeout = std::chrono::milliseconds;
  // Runs once the runner is gone (on the thread that noticed), after its requests have failed.
  using ExitCallback = std::function<void(Runner&)>;
  // KV snapshot traffic (docs/protocol.md): the runner hands over snapshots before it frees
  // a context, and asks for one when a prompt may continue an earlier conversation.
  struct SnapshotHooks {
    std::function<void(const nlohmann::json& header, std::shared_ptr<const SharedBlob> state)> on_snapshot;
    // Returns {tokens, state} of the best snapshot for these prompt tokens, or nothing.
    // `have`: how many prompt tokens the runner's own slots already hold.
    std::function<std::optional<std::pair<std::vector<int32_t>, std::shared_ptr<const SharedBlob>>>(
        const std::vector<int32_t>& prompt, size_t have)>
        find;
  };

  virtual ~Runner() = default;

  // Gives a pre-spawned runner its owner's callbacks (before it is loaded).
  virtual void attach(ExitCallback on_exit, SnapshotHooks hooks) = 0;
  // Waits for the runner's hello (the idle process's memory: the baseline).
  virtual HelloReport wait_hello(Timeout timeout) = 0;
  // Loads the model and its context; the runner's "ready" (load_error: RunnerError with its message).
  virtual ReadyReport load(const LoadRequest& request, Timeout timeout) = 0;
  // Re-creates a freed context (warm → ready) with num_ctx per slot.
  virtual ReadyReport create_context(uint32_t num_ctx, Timeout timeout) = 0;
  // Frees the context (KV + compute). While a request is still queued in the runner it refuses;
  // this asks again each time one of its requests ends, until `timeout`.
  virtual void release_kv(Timeout timeout) = 0;
  // An idle runner creates its GPU context(s); init_gpu waits for that, start_gpu_init does not.
  virtual void init_gpu(Timeout timeout) = 0;
  virtual void start_gpu_init() = 0;
  // An idle runner loads and decodes a tiny model and reports its code pages' growth.
  virtual CalibrationReport calibrate(Timeout timeout) = 0;

  // Starts a request; `msg` is a "generate" (the default type) or "embed" message without "id".
  virtual std::shared_ptr<RequestStream> submit(nlohmann::json msg) = 0;
  virtual void cancel(uint64_t id) = 0;

  // Asks the runner to exit (saving snapshots first when `save`), kills it after `grace`, and
  // returns once it is gone and the exit callback has run.
  virtual void stop(Timeout grace = std::chrono::milliseconds(2000), bool save = false) = 0;
  virtual void kill() = 0;

  virtual pid_t pid() const = 0;
  virtual bool alive() const = 0;
  virtual std::string exit_reason() const = 0;
};

// Starts a runner (it says hello on its own); the manager's way to get one, so tests can fake it.
using RunnerFactory = std::function<std::shared_ptr<Runner>(Runner::ExitCallback, Runner::SnapshotHooks)>;

}  // namespace ebb::supervisor
