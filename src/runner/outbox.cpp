#include "runner/outbox.h"

#include "common/protocol.h"

namespace ebb::runner {

namespace proto = ebb::protocol;
using json = nlohmann::json;
using protocol::Msg;

namespace {
constexpr size_t kFlushBytes = 256 * 1024;
}

void Outbox::send(const json& m) {
  out_ += proto::encode_frame(proto::FrameKind::Json, m.dump(-1, ' ', false, json::error_handler_t::replace));
  if (out_.size() >= kFlushBytes) flush();
}

void Outbox::flush() {
  if (out_.empty()) return;
  proto::write_all(fd_, out_);
  out_.clear();
  last_write_ = std::chrono::steady_clock::now();
}

void Outbox::progress_if_quiet(std::chrono::milliseconds quiet) {
  if (out_.empty() && std::chrono::steady_clock::now() - last_write_ >= quiet)
    send({{"type", type_name(Msg::Progress)}});
}

void Outbox::send_shared(const SharedBlob& blob) {
  flush();
  proto::send_shared(fd_, blob);
  last_write_ = std::chrono::steady_clock::now();
}

void Outbox::error(uint64_t id, const std::string& message, int status) {
  send({{"type", type_name(Msg::Error)}, {"id", id}, {"message", message}, {"status", status}});
}

void Outbox::done_cancelled(uint64_t id) {
  send({{"type", type_name(Msg::Done)}, {"id", id}, {"done_reason", "cancelled"}});
}

}  // namespace ebb::runner
