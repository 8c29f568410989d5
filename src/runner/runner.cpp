#include "runner/runner.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <memory>

#include <spdlog/spdlog.h>

#include "common/process_memory.h"
#include "engine/tiny_model_run.h"
#include "common/messages.h"
#include "common/protocol.h"
#include "engine/devices.h"
#include "engine/engine.h"
#include "llama.h"
#include "runner/pending.h"
#include "runner/request_error.h"
#include "runner/requests.h"
#include "runner/slot.h"

namespace ebb::runner {
namespace {

using json = nlohmann::json;
namespace proto = ebb::protocol;

constexpr size_t kEmbedTokensPerDecode = engine::Engine::kEmbedTokensPerDecode;
// A busy slot's prefix is copied into a free slot only when it saves at least this many tokens
// of prefill (the copy moves a whole per-slot KV buffer).
constexpr size_t kMinSharedPrefix = 32;
// A snapshot is asked for, or a slot saved before it is overwritten, only for at least this many
// tokens (the supervisor sends one back only when it covers this many more than the slots do).
constexpr size_t kMinReuseGain = protocol::kSnapshotMinGain;
// How long a step waits for the supervisor's answer to want_snapshot.
constexpr int kSnapshotAnswerWaitMs = 5;
constexpr size_t kFlushBytes = 256 * 1024;

int64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

json process_json() { return to_json(read_process_memory()); }

class Runner {
 public:
  explicit Runner(int fd) : fd_(fd) {}
  ~Runner() {
    if (batch_ready_) llama_batch_free(batch_);
  }

  int run() {
    send({{"type", "hello"}, {"protocol", proto::kProtocolVersion}, {"pid", getpid()}, {"process", process_json()}});
    for (;;) {
      flush();  // one write per step for every slot's tokens
      // Block for input only when nothing can move: no active slot and no request that could start.
      if (!intake(!busy() && !startable() ? -1 : 0)) return 0;
      // The supervisor answers want_snapshot within a millisecond: wait for it rather than a
      // whole step, so a restored request starts in this step.
      if (waiting_for_snapshot() && !intake(kSnapshotAnswerWaitMs)) return 0;
      if (busy()) step();
    }
  }

 private:
  int fd_;
  proto::FrameDecoder decoder_;
  std::optional<json> restore_header_;  // a "restore" with found:true, waiting for its state frame
  std::unique_ptr<engine::Engine> engine_;
  std::vector<Slot> slots_;
  std::deque<PendingRequest> pending_;
  llama_batch batch_{};
  bool batch_ready_ = false;
  bool shutdown_ = false;
  std::string out_;  // queued frames, see send()
  bool prompt_cache_ = false;  // load's "prompt_cache": save slots before overwriting them
  uint64_t control_id_ = 0;    // the id of the control message being answered

  // Messages are queued and written once per scheduling step (flush), so 32 slots' tokens cost
  // one syscall and one wake-up of the supervisor's reader, not 32.
  void send(const json& m) {
    out_ += proto::encode_frame(proto::FrameKind::Json, m.dump(-1, ' ', false, json::error_handler_t::replace));
    if (out_.size() >= kFlushBytes) flush();
  }
  void flush() {
    if (out_.empty()) return;
    proto::write_all(fd_, out_);
    out_.clear();
  }

  bool startable() const {
    for (const auto& r : pending_)
      if (!r.parked()) return true;
    return false;
  }

  bool busy() const {
    for (const auto& s : slots_)
      if (s.active) return true;
    return false;
  }

  // Reads messages (waiting up to `wait_ms` for the first), starts what can start and sends the
  // answers (accepted, errors, want_snapshot) before the next step. False: time to exit.
  bool intake(int wait_ms) {
    if (!pump_messages(wait_ms)) return false;
    if (!shutdown_) assign_pending();
    flush();
    return !shutdown_;
  }

  bool waiting_for_snapshot() const {
    for (const auto& r : pending_)
      if (r.parked()) return true;
    return false;
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
      json header = std::move(*restore_header_);
      restore_header_.reset();
      if (f.kind == proto::FrameKind::Shared) return on_restore(header, std::move(f.blob));
      spdlog::warn("runner: restore for request {} came without its state frame", header.value("id", uint64_t{0}));
      on_restore(header, nullptr);
    }
    if (f.kind != proto::FrameKind::Json) {
      spdlog::warn("runner: ignored a data frame with no header");
      return;
    }
    json m = json::parse(f.payload, nullptr, false);
    if (!m.is_object()) return;
    if (m.value("type", "") == "restore" && m.value("found", false)) {
      restore_header_ = std::move(m);
      return;
    }
    handle(m);
  }

  void handle(const json& m) {
    std::string type = m.value("type", "");
    // Control replies carry the control message's id (src/common/messages.h).
    control_id_ = m.value("id", uint64_t{0});
    if (type == "load") {
      load(m);
    } else if (type == "generate" || type == "embed") {
      accept(m, type == "embed");
    } else if (type == "cancel") {
      cancel(m.value("id", uint64_t{0}));
    } else if (type == "restore") {
      on_restore(m, nullptr);
    } else if (type == "release_kv") {
      release_kv();
    } else if (type == "create_context") {
      create_context(m.value("num_ctx", 0u));
    } else if (type == "stats") {
      send_stats();
    } else if (type == "calibrate") {
      calibrate();
    } else if (type == "init_gpu") {
      int gpus = engine::init_gpu_contexts();
      send({{"type", "gpu_ready"}, {"id", control_id_}, {"gpus", gpus}, {"process", process_json()}});
    } else if (type == "shutdown") {
      spdlog::debug("runner: shutdown{}", m.value("save", false) ? ", saving slots" : "");
      if (m.value("save", false)) send_snapshots();
      shutdown_ = true;
    }
  }

  void load(const json& m) {
    auto t0 = Clock::now();
    try {
      engine_ = std::make_unique<engine::Engine>(engine::load_params_from_json(m));
    } catch (const std::exception& e) {
      send({{"type", "load_error"}, {"id", control_id_}, {"message", e.what()}});
      shutdown_ = true;
      return;
    }
    prompt_cache_ = m.value("prompt_cache", false);
    const auto& p = engine_->params();
    slots_.clear();
    slots_.resize(p.num_parallel);
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].seq = static_cast<int>(i);
    batch_ = llama_batch_init(static_cast<int32_t>(p.num_batch), 0, static_cast<int32_t>(p.num_parallel));
    batch_ready_ = true;
    send_ready(t0, true);
  }

  // `weights_loaded`: this step loaded the weights (a load), not only a context.
  void send_ready(Clock::time_point t0, bool weights_loaded) {
    const auto& p = engine_->params();
    send({{"type", "ready"},
          {"id", control_id_},
          {"num_ctx", p.num_ctx},
          {"num_parallel", p.num_parallel},
          {"n_ctx_train", engine_->n_ctx_train()},
          {"load_ns", ns_between(t0, Clock::now())},
          {"model_load_ns", weights_loaded ? engine_->model_load_ns() : 0},
          {"context_ns", engine_->context_ns()},
          {"prefetched_bytes", weights_loaded ? engine_->prefetch().read_bytes : 0},
          {"memory", engine_->memory().to_json()},
          {"process", process_json()}});
  }

  // warm → ready: the weights stayed, the context comes back (empty; snapshots restore on demand).
  void create_context(uint32_t num_ctx) {
    auto t0 = Clock::now();
    if (!engine_) return send({{"type", "load_error"}, {"id", control_id_}, {"message", "model is not loaded"}});
    try {
      if (num_ctx > 0 && !engine_->has_context()) engine_->set_num_ctx(num_ctx);
      engine_->create_context();
    } catch (const std::exception& e) {
      return send({{"type", "load_error"}, {"id", control_id_}, {"message", e.what()}});
    }
    send_ready(t0, false);
  }

  // Saves every idle, non-empty slot (see save_slot).
  void send_snapshots() {
    if (!engine_ || !engine_->has_context()) return;
    for (auto& s : slots_)
      if (!s.active && !s.cache.empty()) save_slot(s);
  }

  // With the prompt cache on, a slot's contents are saved before a request with other content
  // takes the slot over: it loses at least kMinReuseGain tokens and keeps less than half. A later
  // request with that prefix (the first user's next turn, say) restores them instead of
  // prefilling. A request that keeps most of the slot (the same conversation going on) saves
  // nothing: the state would be mostly the prefix the slot still holds.
  void save_before_overwrite(const Slot& s, size_t keep) {
    if (prompt_cache_ && s.cache.size() >= keep + kMinReuseGain && keep * 2 < s.cache.size()) save_slot(s);
  }

  // Sends one slot's state: a "snapshot" header, then the state in a sealed memfd.
  void save_slot(const Slot& s) {
    const auto& p = engine_->params();
    if (engine_->sequence_length(s.seq) != s.cache.size()) {
      spdlog::warn("runner: slot {} holds {} positions for {} tokens; not saved", s.seq, engine_->sequence_length(s.seq),
                   s.cache.size());
      return;
    }
    auto t0 = Clock::now();
    std::shared_ptr<SharedBlob> state;
    try {
      state = SharedBlob::create(engine_->sequence_state_size(s.seq), "ebb-kv-snapshot");
      state->seal(engine_->save_sequence_into(s.seq, state->data(), state->size()));
    } catch (const std::exception& e) {
      spdlog::warn("runner: slot {} snapshot failed: {}", s.seq, e.what());
      return;
    }
    if (state->size() == 0) {
      spdlog::warn("runner: slot {} snapshot failed (llama.cpp wrote nothing)", s.seq);
      return;
    }
    send({{"type", "snapshot"},
          {"slot", s.seq},
          {"tokens", s.cache},
          {"n_ctx", p.num_ctx},
          {"kv_cache_type", p.kv_cache_type},
          {"num_parallel", p.num_parallel},
          {"flash_attn", p.flash_attn ? json(*p.flash_attn) : json()},
          {"bytes", state->size()},
          {"save_ns", ns_between(t0, Clock::now())}});
    flush();  // the header goes first
    proto::send_shared(fd_, *state);
  }

  void release_kv() {
    bool parked = !pending_.empty();
    if (busy() || parked) return send({{"type", "kv_released"}, {"id", control_id_}, {"error", "busy"}});
    auto t0 = Clock::now();
    send_snapshots();
    for (auto& s : slots_) s.cache.clear();
    if (engine_) engine_->free_context();
    send({{"type", "kv_released"},
          {"id", control_id_},
          {"memory", engine_ ? engine_->memory().to_json() : json::object()},
          {"process", process_json()},
          {"release_ns", ns_between(t0, Clock::now())}});
  }

  void send_stats() {
    json slots = json::array();
    for (const auto& s : slots_) slots.push_back({{"active", s.active}, {"cached_tokens", s.cache.size()}});
    send({{"type", "stats"},
          {"id", control_id_},
          {"process", process_json()},
          {"memory", engine_ ? engine_->memory().to_json() : json::object()},
          {"context", engine_ && engine_->has_context()},
          {"slots", slots},
          {"pending", pending_.size()}});
  }

  // The supervisor's answer to want_snapshot. An answer for a request that is gone is dropped.
  void on_restore(const json& m, std::shared_ptr<SharedBlob> state) {
    uint64_t id = m.value("id", uint64_t{0});
    spdlog::debug("runner: restore answer for request {}: {} bytes", id, state ? state->size() : 0);
    for (auto& r : pending_) {
      if (r.id != id || !r.parked()) continue;
      r.snapshot = PendingRequest::Snapshot::Answered;
      if (state && state->size() > 0 && m.contains("tokens") && m["tokens"].is_array()) {
        r.snapshot_tokens = m["tokens"].get<std::vector<Token>>();
        r.snapshot_state = std::move(state);
      }
      return;
    }
  }

  void cancel(uint64_t id) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->id == id) {
        pending_.erase(it);
        send_done_cancelled(id);
        return;
      }
    }
    for (auto& s : slots_) {
      if (!s.active || s.request_id != id) continue;
      if (s.embed) {
        send_done_cancelled(id);
        end_embed(s);
      } else {
        finish(s, "cancelled");
      }
      return;
    }
  }

  void send_done_cancelled(uint64_t id) { send({{"type", "done"}, {"id", id}, {"done_reason", "cancelled"}}); }

  // status 400: the request itself is at fault (the supervisor answers the client with it).
  void send_error(uint64_t id, const std::string& msg, int status = 500) {
    send({{"type", "error"}, {"id", id}, {"message", msg}, {"status", status}});
  }

  // Checks and tokenizes a request on arrival; a generate that passes is "accepted" at once, so
  // the supervisor can start a stream knowing it will not fail for the request's own fields.
  void accept(const json& m, bool embed) {
    uint64_t id = m.value("id", uint64_t{0});
    if (!engine_) return send_error(id, "model is not loaded");
    try {
      pending_.push_back(embed ? prepare_embed(*engine_, m) : prepare_generate(*engine_, m));
    } catch (const RequestError& e) {
      return send_error(id, e.what(), e.status());
    } catch (const std::exception& e) {
      return send_error(id, e.what());
    }
    if (!embed) send({{"type", "accepted"}, {"id", id}});
  }

  // The free slot with the longest common prefix with `prompt`; nullptr when all are busy.
  Slot* best_free_slot(const std::vector<Token>& prompt, size_t& best_len) {
    Slot* best = nullptr;
    best_len = 0;
    for (auto& s : slots_) {
      if (s.active) continue;
      size_t len = common_prefix(s.cache, prompt);
      if (!best || len > best_len) best = &s, best_len = len;
    }
    return best;
  }

  // Where a snapshot goes: a free slot with an empty cache, else the free one caching least.
  Slot* restore_target() {
    Slot* target = nullptr;
    for (auto& s : slots_) {
      if (s.active) continue;
      if (!target || s.cache.size() < target->cache.size()) target = &s;
    }
    return target;
  }

  // A prefix shared with a busy slot (one system prompt for many users). When it beats every free
  // slot by kMinSharedPrefix tokens, the busy slot's sequence is copied into a free slot and cut
  // back to the shared prefix, so only the rest is prefilled. Across KV streams llama.cpp copies
  // the whole stream buffer at the start of the next decode, hence the minimum gain.
  Slot* share_prefix(const std::vector<Token>& prompt, size_t best_len) {
    Slot* src = nullptr;
    size_t len = 0;
    for (auto& s : slots_) {
      if (!s.active || s.embed) continue;
      size_t l = common_prefix(s.cache, prompt);  // s.cache: tokens whose KV is computed
      if (l > len) src = &s, len = l;
    }
    if (!src || len < best_len + kMinSharedPrefix) return nullptr;
    Slot* dst = restore_target();
    if (!dst) return nullptr;
    save_before_overwrite(*dst, 0);
    llama_memory_t mem = llama_get_memory(engine_->ctx());
    llama_memory_seq_rm(mem, dst->seq, -1, -1);
    llama_memory_seq_cp(mem, src->seq, dst->seq, -1, -1);
    llama_memory_seq_rm(mem, dst->seq, static_cast<llama_pos>(len), -1);
    dst->cache.assign(src->cache.begin(), src->cache.begin() + static_cast<std::ptrdiff_t>(len));
    spdlog::debug("runner: slot {} takes {} prompt tokens from busy slot {}", dst->seq, len, src->seq);
    return dst;
  }

  // Loads the request's snapshot into a free slot if it beats what the slots already hold.
  Slot* restore_snapshot(PendingRequest& r, size_t best_len, int64_t& restore_ns) {
    if (!r.snapshot_state || common_prefix(r.snapshot_tokens, *r.prompt) <= best_len) return nullptr;
    Slot* target = restore_target();
    save_before_overwrite(*target, 0);
    auto t0 = Clock::now();
    bool ok = false;
    try {
      ok = engine_->restore_sequence(target->seq, r.snapshot_state->view());  // mapped, not copied
    } catch (const std::exception& e) {
      spdlog::warn("runner: cannot map the snapshot for request {}: {}", r.id, e.what());
    }
    if (ok && engine_->sequence_length(target->seq) != r.snapshot_tokens.size()) {
      spdlog::warn("runner: snapshot for request {} holds {} positions for {} tokens", r.id,
                   engine_->sequence_length(target->seq), r.snapshot_tokens.size());
      llama_memory_seq_rm(llama_get_memory(engine_->ctx()), target->seq, -1, -1);
      ok = false;
    }
    if (!ok) {
      spdlog::warn("runner: llama.cpp rejected the snapshot for request {} ({} bytes); prefilling instead", r.id,
                   r.snapshot_state->size());
      r.snapshot_state.reset();
      target->cache.clear();
      return nullptr;
    }
    target->cache = std::move(r.snapshot_tokens);
    const size_t bytes = r.snapshot_state->size();
    r.snapshot_state.reset();  // unmapped; the supervisor keeps its own reference
    restore_ns = ns_between(t0, Clock::now());
    spdlog::debug("runner: restored {} tokens ({} MiB) into slot {} in {:.1f} ms", target->cache.size(), bytes >> 20,
                  target->seq, restore_ns / 1e6);
    return target;
  }

  // Moves pending requests into free slots: the free slot with the longest common prefix wins,
  // unless a snapshot (asked for with want_snapshot) covers more of the prompt.
  void assign_pending() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      PendingRequest& r = *it;
      if (!engine_) {
        send_error(r.id, "model is not loaded");
        it = pending_.erase(it);
        continue;
      }
      if (r.parked()) {
        ++it;
        continue;
      }
      try {
        if (!engine_->has_context()) engine_->create_context();
      } catch (const std::exception& e) {
        send_error(r.id, e.what());
        it = pending_.erase(it);
        continue;
      }
      if (r.kind == PendingRequest::Kind::Embed) {
        Slot* s = restore_target();  // the free slot caching least: embeddings keep no KV
        if (!s) return;
        start_embed(*s, r);
        it = pending_.erase(it);
        continue;
      }
      size_t best_len = 0;
      Slot* best = best_free_slot(*r.prompt, best_len);
      if (!best) return;  // all busy: wait for a slot
      if (Slot* shared = share_prefix(*r.prompt, best_len)) {
        start(*shared, r.id, std::move(*r.prompt), std::move(r.options), std::move(r.sampler), r.truncate);
        shared->shared_tokens = static_cast<int32_t>(shared->prefill_pos);
        it = pending_.erase(it);
        continue;
      }
      if (r.msg.value("snapshots", false) && r.snapshot == PendingRequest::Snapshot::NotAsked &&
          best_len + kMinReuseGain <= r.prompt->size()) {
        spdlog::debug("runner: request {} asks for a snapshot ({} prompt tokens)", r.id, r.prompt->size());
        send({{"type", "want_snapshot"}, {"id", r.id}, {"tokens", *r.prompt}, {"have", best_len}});
        r.snapshot = PendingRequest::Snapshot::Waiting;
        ++it;
        continue;
      }
      int64_t restore_ns = 0;
      Slot* restored = restore_snapshot(r, best_len, restore_ns);
      Slot& slot = restored ? *restored : *best;
      start(slot, r.id, std::move(*r.prompt), std::move(r.options), std::move(r.sampler), r.truncate);
      if (restored) {
        slot.restored_tokens = static_cast<int32_t>(slot.prefill_pos);
        slot.restore_ns = restore_ns;
      }
      it = pending_.erase(it);
    }
  }

  void start(Slot& s, uint64_t id, std::vector<Token> prompt, SamplingOptions opts, engine::SamplerPtr sampler, bool truncate) {
    const size_t n_ctx = engine_->n_ctx_per_slot();
    if (prompt.empty()) prompt.push_back(llama_vocab_bos(engine_->vocab()));
    // Too long: keep num_keep tokens, drop from the middle, leave room to generate. Without
    // truncation the prompt fits (checked on arrival) and generation ends when the context is full.
    size_t room = opts.num_predict > 0 ? std::min<size_t>(opts.num_predict, n_ctx / 2) : n_ctx / 4;
    size_t limit = n_ctx > room + 1 ? n_ctx - room - 1 : n_ctx / 2;
    if (truncate && prompt.size() > limit) {
      size_t keep = std::min<size_t>(std::max(opts.num_keep, 0), limit / 2);
      std::vector<Token> cut(prompt.begin(), prompt.begin() + keep);
      cut.insert(cut.end(), prompt.end() - (limit - keep), prompt.end());
      prompt.swap(cut);
    }
    size_t reuse = common_prefix(s.cache, prompt);
    if (reuse == prompt.size()) --reuse;  // the last prompt token must be decoded for logits
    save_before_overwrite(s, reuse);
    llama_memory_seq_rm(llama_get_memory(engine_->ctx()), s.seq, static_cast<llama_pos>(reuse), -1);
    s.cache.resize(reuse);
    s.active = true;
    s.request_id = id;
    s.prompt = std::move(prompt);
    s.prefill_pos = reuse;
    s.next.reset();
    s.options = opts;
    s.sampler = std::move(sampler);
    s.text.emplace(opts.stop);
    s.generated = 0;
    s.prompt_evaluated = static_cast<int32_t>(s.prompt.size() - reuse);
    s.restored_tokens = 0;
    s.restore_ns = 0;
    s.shared_tokens = 0;
    s.started = Clock::now();
  }

  void finish(Slot& s, const std::string& reason) {
    if (s.text) {
      std::string rest = s.text->flush();
      if (!rest.empty() && reason != "cancelled") send_text(s, rest);
    }
    auto now = Clock::now();
    bool prefilled = !s.prefilling();
    send({{"type", "done"},
          {"id", s.request_id},
          {"done_reason", reason},
          {"prompt_eval_count", s.prompt_evaluated},
          {"prompt_eval_duration", prefilled ? ns_between(s.started, s.prefill_done) : ns_between(s.started, now)},
          {"eval_count", s.generated},
          {"eval_duration", prefilled ? ns_between(s.prefill_done, now) : 0},
          {"restored_tokens", s.restored_tokens},
          {"restore_duration", s.restore_ns},
          {"shared_tokens", s.shared_tokens}});
    // Tokens beyond what the KV holds are dropped from the cache record.
    if (s.prefilling()) {
      s.cache.resize(s.prefill_pos);
    }
    s.active = false;
    s.sampler.reset();
    s.text.reset();
    s.next.reset();
  }

  void start_embed(Slot& s, PendingRequest& r) {
    save_before_overwrite(s, 0);
    llama_memory_seq_rm(llama_get_memory(engine_->ctx()), s.seq, -1, -1);
    s.cache.clear();
    s.active = true;
    s.request_id = r.id;
    s.prompt.clear();
    s.prefill_pos = 0;
    s.next.reset();
    s.started = Clock::now();
    s.embed.emplace(std::move(r.inputs), engine_->pooling(), !engine_->causal_attention(), engine_->n_embd_out());
  }

  // Frees an embed slot; its sequence keeps nothing.
  void end_embed(Slot& s) {
    llama_memory_seq_rm(llama_get_memory(engine_->ctx()), s.seq, -1, -1);
    s.cache.clear();
    s.embed.reset();
    s.active = false;
  }

  void finish_embed(Slot& s) {
    send({{"type", "embeddings"},
          {"id", s.request_id},
          {"embeddings", s.embed->results()},
          {"prompt_eval_count", s.embed->tokens()},
          {"prompt_eval_duration", ns_between(s.started, Clock::now())}});
    end_embed(s);
  }

  // Ends every active request of the batch after a failed llama_decode.
  void fail_decode(int rc, bool embed) {
    for (auto& s : slots_) {
      if (!s.active || s.embed.has_value() != embed) continue;
      send_error(s.request_id, "decode failed (llama_decode returned " + std::to_string(rc) + ")");
      if (s.embed) {
        end_embed(s);
        continue;
      }
      s.active = false;
      s.cache.clear();
      llama_memory_seq_rm(llama_get_memory(engine_->ctx()), s.seq, -1, -1);
    }
  }

  // One llama_decode over the embed slots' next chunks, with embedding output on. Slots work
  // through their inputs in turn; a new input restarts the slot's sequence at position 0.
  void step_embeddings() {
    const auto& p = engine_->params();
    const size_t cap = engine_->causal_attention() ? std::min<size_t>(p.num_batch, kEmbedTokensPerDecode) : p.num_batch;
    llama_context* ctx = engine_->ctx();
    struct Span {
      Slot* slot;
      int32_t first;
      size_t n;
    };
    std::vector<Span> spans;
    batch_.n_tokens = 0;
    for (auto& s : slots_) {
      if (!s.active || !s.embed) continue;
      size_t n = s.embed->next_chunk(cap - static_cast<size_t>(batch_.n_tokens));
      if (n == 0) continue;
      if (s.embed->position() == 0) llama_memory_seq_rm(llama_get_memory(ctx), s.seq, -1, -1);
      spans.push_back({&s, batch_.n_tokens, n});
      for (size_t k = 0; k < n; ++k) add_to_batch(s.embed->token(k), static_cast<llama_pos>(s.embed->position() + k), s.seq, true);
    }
    if (spans.empty()) return;
    llama_set_embeddings(ctx, true);
    int rc = llama_decode(ctx, batch_);
    llama_set_embeddings(ctx, false);
    if (rc != 0) return fail_decode(rc, true);
    for (auto& sp : spans) {
      for (size_t k = 0; k < sp.n; ++k) sp.slot->embed->add_row(llama_get_embeddings_ith(ctx, sp.first + static_cast<int32_t>(k)));
      if (sp.slot->embed->done()) finish_embed(*sp.slot);
    }
  }

  // An idle runner, asked at the supervisor's start: a tiny model's load and decode touch the
  // code pages (llama.cpp's loader, the CPU kernels) that every runner touches once it has loaded
  // and decoded and that an idle runner's baseline lacks; their growth is reported. Reading smaps
  // takes about a millisecond.
  void calibrate() {
    if (engine_) return send({{"type", "calibrated"}, {"id", control_id_}, {"error", "not an idle runner"}});
    const uint64_t before = own_file_rss_except("");
    try {
      engine::run_tiny_model();
    } catch (const std::exception& e) {
      return send({{"type", "calibrated"}, {"id", control_id_}, {"error", e.what()}});
    }
    const uint64_t after = own_file_rss_except("");
    send({{"type", "calibrated"}, {"id", control_id_}, {"code_bytes", after > before ? after - before : 0}});
  }

  int add_to_batch(Token t, llama_pos pos, int seq, bool logits) {
    int i = batch_.n_tokens++;
    batch_.token[i] = t;
    batch_.pos[i] = pos;
    batch_.n_seq_id[i] = 1;
    batch_.seq_id[i][0] = seq;
    batch_.logits[i] = logits;
    return i;
  }

  void send_text(Slot& s, const std::string& text) { send({{"type", "token"}, {"id", s.request_id}, {"text", text}}); }

  // One llama_decode over every active sequence: decode tokens first, then prefill chunks.
  // Embed slots get their own decode first (see step_embeddings).
  void step() {
    step_embeddings();
    const int32_t cap = static_cast<int32_t>(engine_->params().num_batch);
    batch_.n_tokens = 0;
    for (auto& s : slots_) {
      s.batch_index = -1;
      if (s.active && s.next && batch_.n_tokens < cap) {
        s.batch_index = add_to_batch(*s.next, static_cast<llama_pos>(s.cache.size()), s.seq, true);
        s.cache.push_back(*s.next);
        s.next.reset();
      }
    }
    for (auto& s : slots_) {
      while (s.prefilling() && batch_.n_tokens < cap) {
        bool last = s.prefill_pos + 1 == s.prompt.size();
        int i = add_to_batch(s.prompt[s.prefill_pos], static_cast<llama_pos>(s.cache.size()), s.seq, last);
        s.cache.push_back(s.prompt[s.prefill_pos++]);
        if (last) s.batch_index = i;
      }
    }
    if (batch_.n_tokens == 0) return;
    int rc = llama_decode(engine_->ctx(), batch_);
    if (rc != 0) return fail_decode(rc, false);
    for (auto& s : slots_) {
      if (s.active && !s.embed && s.batch_index >= 0) sample(s);
    }
  }

  void sample(Slot& s) {
    if (s.generated == 0 && !s.next) s.prefill_done = Clock::now();
    Token t = llama_sampler_sample(s.sampler.get(), engine_->ctx(), s.batch_index);
    if (engine_->is_eog(t)) return finish(s, "stop");
    ++s.generated;
    std::string out = s.text->push(engine_->piece(t));
    if (!out.empty()) send_text(s, out);
    if (s.text->stopped()) return finish(s, "stop");
    if (s.options.num_predict > 0 && s.generated >= s.options.num_predict) return finish(s, "length");
    if (s.cache.size() + 1 >= engine_->n_ctx_per_slot()) return finish(s, "length");
    s.next = t;
  }
};

}  // namespace

int run(int fd) {
  Runner r(fd);
  return r.run();
}

}  // namespace ebb::runner
