#include "runner/runner.h"

#include <poll.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>

#include "common/messages.h"
#include "common/process_memory.h"
#include "common/protocol.h"
#include "engine/devices.h"
#include "engine/engine.h"
#include "runner/calibration.h"
#include "runner/embeddings.h"
#include "runner/generation.h"
#include "runner/outbox.h"
#include "runner/pending.h"
#include "runner/request_error.h"
#include "runner/requests.h"
#include "runner/scheduler.h"
#include "runner/serving.h"
#include "runner/snapshots.h"
#include "runner/timing.h"

namespace ebb::runner {
namespace {

using json = nlohmann::json;
namespace proto = ebb::protocol;
using proto::Msg;

// How long a step waits for the supervisor's answer to want_snapshot.
constexpr int kSnapshotAnswerWaitMs = 5;
// A busy runner that wrote nothing for this long says "progress" after its next batch, well inside
// the supervisor's runner_timeout (1 s at the least).
constexpr std::chrono::milliseconds kProgressEvery{250};

json process_json() { return to_json(read_process_memory()); }

// A "restore" message: the supervisor's answer to want_snapshot.
struct RestoreAnswer {
  uint64_t id = 0;
  bool found = false;
  std::optional<std::vector<Token>> tokens;  // when found
};

RestoreAnswer parse_restore(const json& m) {
  RestoreAnswer a;
  a.id = m.value("id", uint64_t{0});
  a.found = m.value("found", false);
  if (auto t = m.find("tokens"); t != m.end() && t->is_array()) a.tokens = t->get<std::vector<Token>>();
  return a;
}

class Runner {
 public:
  explicit Runner(int fd) : fd_(fd), out_(fd) {}

  int run() {
    out_.send({{"type", type_name(Msg::Hello)},
               {"protocol", proto::kProtocolVersion},
               {"pid", getpid()},
               {"process", process_json()}});
    for (;;) {
      out_.flush();  // one write per step for every slot's tokens
      // Block for input only when nothing can move: no active slot and no request that could start.
      if (!intake(!busy() && !startable() ? -1 : 0)) return 0;
      // The supervisor answers want_snapshot within a millisecond: wait for it rather than a
      // whole step, so a restored request starts in this step.
      if (waiting_for_snapshot() && !intake(kSnapshotAnswerWaitMs)) return 0;
      if (busy()) {
        embeddings_step(*sv_);
        generation_step(*sv_);
        out_.progress_if_quiet(kProgressEvery);  // a batch finished, maybe only a prompt's chunk
      }
    }
  }

 private:
  int fd_;
  Outbox out_;
  proto::FrameDecoder decoder_;
  std::optional<RestoreAnswer> restore_header_;  // a "restore" with found:true, waiting for its state frame
  std::unique_ptr<Serving> sv_;                  // null until a load succeeds
  std::deque<PendingRequest> pending_;
  bool shutdown_ = false;
  uint64_t control_id_ = 0;  // the id of the control message being answered

  bool busy() const { return sv_ && sv_->busy(); }

  bool startable() const {
    for (const auto& r : pending_)
      if (!r.parked()) return true;
    return false;
  }

  bool waiting_for_snapshot() const {
    for (const auto& r : pending_)
      if (r.parked()) return true;
    return false;
  }

  // Reads messages (waiting up to `wait_ms` for the first), starts what can start and sends the
  // answers (accepted, errors, want_snapshot) before the next step. False: time to exit.
  bool intake(int wait_ms) {
    if (!pump_messages(wait_ms)) return false;
    if (!shutdown_) assign();
    out_.flush();
    return !shutdown_;
  }

  void assign() {
    if (sv_) return assign_pending(*sv_, pending_);
    for (const auto& r : pending_) out_.error(r.id, "model is not loaded");
    pending_.clear();
  }

  // Reads whatever is available, waiting up to `wait_ms` for the first message (-1: until one
  // comes). False: supervisor gone.
  bool pump_messages(int wait_ms) {
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, wait_ms);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return true;
      ssize_t n = proto::receive(fd_, decoder_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      try {
        while (auto f = decoder_.next()) on_frame(std::move(*f));
      } catch (const proto::ProtocolError& e) {
        spdlog::error("runner: protocol error from the supervisor: {}", e.what());
        return false;
      }
      if (shutdown_) return true;
      wait_ms = 0;  // got something; drain without waiting
    }
  }

  // A shared-memory frame belongs to the JSON frame just before it (only "restore" carries one).
  void on_frame(proto::Frame f) {
    if (restore_header_) {
      RestoreAnswer header = std::move(*restore_header_);
      restore_header_.reset();
      if (f.kind == proto::FrameKind::Shared) return on_restore(std::move(header), std::move(f.blob));
      spdlog::warn("runner: restore for request {} came without its state frame", header.id);
      on_restore(std::move(header), nullptr);
    }
    if (f.kind != proto::FrameKind::Json) {
      spdlog::warn("runner: ignored a data frame with no header");
      return;
    }
    json m = json::parse(f.payload, nullptr, false);
    if (!m.is_object()) {
      spdlog::warn("runner: ignored a frame that is not a JSON object ({} bytes)", f.payload.size());
      return;
    }
    const auto type = m.find("type");
    const Msg msg =
        type != m.end() && type->is_string() ? proto::parse_msg(type->get_ref<const std::string&>()) : Msg::Unknown;
    if (msg == Msg::Restore && m.value("found", false)) {
      restore_header_ = parse_restore(m);
      return;
    }
    handle(msg, m);
  }

  void handle(Msg msg, const json& m) {
    // Control replies carry the control message's id (src/common/messages.h).
    control_id_ = m.value("id", uint64_t{0});
    switch (msg) {
      case Msg::Load: return load(m);
      case Msg::Generate:
      case Msg::Embed: return accept(m, msg == Msg::Embed);
      case Msg::Cancel: return cancel(m.value("id", uint64_t{0}));
      case Msg::Restore: return on_restore(parse_restore(m), nullptr);
      case Msg::ReleaseKv: return release_kv();
      case Msg::CreateContext: return create_context(m.value("num_ctx", 0u));
      case Msg::Stats: return send_stats();
      case Msg::Calibrate: {
        json reply = calibrate(sv_ != nullptr);
        return reply_control(Msg::Calibrated, std::move(reply));
      }
      case Msg::InitGpu: {
        const int gpus = engine::init_gpu_contexts();
        return reply_control(Msg::GpuReady, {{"gpus", gpus}, {"process", process_json()}});
      }
      case Msg::Shutdown:
        spdlog::debug("runner: shutdown{}", m.value("save", false) ? ", saving slots" : "");
        if (m.value("save", false) && sv_) save_idle_slots(*sv_);
        shutdown_ = true;
        return;
      default:
        spdlog::warn("runner: ignored a message of unknown type {}", m.contains("type") ? m["type"].dump() : "(none)");
        return;
    }
  }

  // A control message's reply: `fields` plus its type and the control message's id.
  void reply_control(Msg type, json fields) {
    fields["type"] = type_name(type);
    fields["id"] = control_id_;
    out_.send(fields);
  }

  void load(const json& m) {
    auto t0 = Clock::now();
    std::unique_ptr<engine::Engine> engine;
    try {
      engine = std::make_unique<engine::Engine>(engine::load_params_from_json(m));
    } catch (const std::exception& e) {
      reply_control(Msg::LoadError, {{"message", e.what()}});
      shutdown_ = true;
      return;
    }
    sv_ = std::make_unique<Serving>(std::move(engine), out_, m.value("prompt_cache", false));
    send_ready(t0, true);
  }

  // `weights_loaded`: this step loaded the weights (a load), not only a context.
  void send_ready(Clock::time_point t0, bool weights_loaded) {
    const engine::Engine& e = sv_->engine;
    const auto& p = e.params();
    reply_control(Msg::Ready, {{"num_ctx", p.num_ctx},
                               {"num_parallel", p.num_parallel},
                               {"n_ctx_train", e.n_ctx_train()},
                               {"load_ns", ns_between(t0, Clock::now())},
                               {"model_load_ns", weights_loaded ? e.model_load_ns() : 0},
                               {"context_ns", e.context_ns()},
                               {"prefetched_bytes", weights_loaded ? e.prefetch().read_bytes : 0},
                               {"memory", e.memory().to_json()},
                               {"process", process_json()}});
  }

  // warm → ready: the weights stayed, the context comes back (empty; snapshots restore on demand).
  void create_context(uint32_t num_ctx) {
    auto t0 = Clock::now();
    if (!sv_) return reply_control(Msg::LoadError, {{"message", "model is not loaded"}});
    try {
      if (num_ctx > 0 && !sv_->engine.has_context()) sv_->engine.set_num_ctx(num_ctx);
      sv_->engine.create_context();
    } catch (const std::exception& e) {
      return reply_control(Msg::LoadError, {{"message", e.what()}});
    }
    send_ready(t0, false);
  }

  void release_kv() {
    if (busy() || !pending_.empty()) return reply_control(Msg::KvReleased, {{"error", "busy"}});
    auto t0 = Clock::now();
    if (sv_) {
      save_idle_slots(*sv_);
      for (auto& s : sv_->slots) s.forget_kv();
      sv_->engine.free_context();
    }
    reply_control(Msg::KvReleased, {{"memory", sv_ ? sv_->engine.memory().to_json() : json::object()},
                                    {"process", process_json()},
                                    {"release_ns", ns_between(t0, Clock::now())}});
  }

  void send_stats() {
    json slots = json::array();
    if (sv_)
      for (const auto& s : sv_->slots) slots.push_back({{"active", s.active}, {"cached_tokens", s.cache().size()}});
    reply_control(Msg::Stats, {{"process", process_json()},
                               {"memory", sv_ ? sv_->engine.memory().to_json() : json::object()},
                               {"context", sv_ && sv_->engine.has_context()},
                               {"slots", slots},
                               {"pending", pending_.size()}});
  }

  // The supervisor's answer to want_snapshot. An answer for a request that is gone is dropped.
  void on_restore(RestoreAnswer a, std::shared_ptr<SharedBlob> state) {
    spdlog::debug("runner: restore answer for request {}: {} bytes", a.id, state ? state->size() : 0);
    for (auto& r : pending_) {
      if (r.id != a.id || !r.parked()) continue;
      r.snapshot = PendingRequest::Snapshot::Answered;
      if (state && state->size() > 0 && a.tokens) {
        r.snapshot_tokens = std::move(*a.tokens);
        r.snapshot_state = std::move(state);
      }
      return;
    }
  }

  void cancel(uint64_t id) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->id == id) {
        pending_.erase(it);
        out_.done_cancelled(id);
        return;
      }
    }
    if (!sv_) return;
    for (auto& s : sv_->slots) {
      if (!s.active || s.request_id != id) continue;
      if (s.embed) {
        out_.done_cancelled(id);
        end_embed(*sv_, s);
      } else {
        finish_generation(*sv_, s, "cancelled");
      }
      return;
    }
  }

  // Checks and tokenizes a request on arrival; a generate that passes is "accepted" at once, so
  // the supervisor can start a stream knowing it will not fail for the request's own fields.
  void accept(const json& m, bool embed) {
    uint64_t id = m.value("id", uint64_t{0});
    if (!sv_) return out_.error(id, "model is not loaded");
    try {
      pending_.push_back(embed ? prepare_embed(sv_->engine, m) : prepare_generate(sv_->engine, m));
    } catch (const RequestError& e) {
      return out_.error(id, e.what(), e.status());
    } catch (const std::exception& e) {
      return out_.error(id, e.what());
    }
    if (!embed) out_.send({{"type", type_name(Msg::Accepted)}, {"id", id}});
  }
};

}  // namespace

int run(int fd) {
  Runner r(fd);
  return r.run();
}

}  // namespace ebb::runner
