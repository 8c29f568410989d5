#pragma once
// The runner's side of the socket, outgoing: JSON frames are queued and written once per
// scheduling step (flush), so 32 slots' tokens cost one syscall and one wake-up of the
// supervisor's reader, not 32.
#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/messages.h"
#include "common/shared_blob.h"

namespace ebb::runner {

class Outbox {
 public:
  explicit Outbox(int fd) : fd_(fd) {}

  void send(const nlohmann::json& m);  // queued; written at flush, or once 256 KiB are queued
  void flush();
  // Queues a "progress" message when nothing was written for `quiet`: a busy runner that is
  // prefilling a long prompt shows the supervisor's watchdog that it still moves.
  void progress_if_quiet(std::chrono::milliseconds quiet);
  // A shared-memory frame, after everything queued (it belongs to the JSON frame sent before it).
  void send_shared(const SharedBlob& blob);

  // Replies every part of the runner sends.
  // status 400: the request itself is at fault (the supervisor answers the client with it).
  void error(uint64_t id, const std::string& message, int status = 500);
  void done_cancelled(uint64_t id);

 private:
  int fd_;
  std::string out_;
  std::chrono::steady_clock::time_point last_write_ = std::chrono::steady_clock::now();
};

// The wire name of a message type, for a reply's "type".
inline std::string type_name(protocol::Msg m) { return std::string(protocol::name(m)); }

}  // namespace ebb::runner
