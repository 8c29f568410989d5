#include "runner/runner.h"

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <memory>

#include <spdlog/spdlog.h>

#include "common/protocol.h"
#include "engine/engine.h"
#include "llama.h"
#include "runner/slot.h"

namespace ebb::runner {
namespace {

using json = nlohmann::json;
namespace proto = ebb::protocol;

int64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

engine::LoadParams load_params_from(const json& m) {
  engine::LoadParams p;
  p.path = m.at("path").get<std::string>();
  p.num_ctx = m.value("num_ctx", 4096u);
  p.num_parallel = m.value("num_parallel", 1u);
  p.num_batch = m.value("num_batch", 512u);
  p.num_thread = m.value("num_thread", 0);
  p.num_gpu = m.value("num_gpu", -1);
  p.kv_cache_type = m.value("kv_cache_type", std::string("f16"));
  p.flash_attn = m.value("flash_attn", false);
  p.embeddings = m.value("embeddings", false);
  return p;
}

class Runner {
 public:
  explicit Runner(int fd) : fd_(fd) {}

  int run() {
    proto::send_json(fd_, {{"type", "hello"}, {"protocol", proto::kProtocolVersion}, {"pid", getpid()}});
    for (;;) {
      if (!pump_messages(/*block=*/!busy())) return 0;
      if (shutdown_) return 0;
      assign_pending();
      if (busy()) step();
    }
  }

 private:
  int fd_;
  proto::FrameDecoder decoder_;
  std::unique_ptr<engine::Engine> engine_;
  std::vector<Slot> slots_;
  std::deque<json> pending_;
  llama_batch batch_{};
  bool batch_ready_ = false;
  bool shutdown_ = false;

  bool busy() const {
    for (const auto& s : slots_)
      if (s.active) return true;
    return false;
  }

  // Reads whatever is available (or waits for something when idle). False: supervisor gone.
  bool pump_messages(bool block) {
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, block ? -1 : 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return true;
      char buf[64 * 1024];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      decoder_.feed(buf, static_cast<size_t>(n));
      while (auto f = decoder_.next()) {
        if (f->kind == proto::FrameKind::Json) handle(json::parse(f->payload, nullptr, false));
      }
      block = false;  // got something; drain without blocking
    }
  }

  void handle(const json& m) {
    if (!m.is_object()) return;
    std::string type = m.value("type", "");
    if (type == "load") {
      load(m);
    } else if (type == "generate") {
      pending_.push_back(m);
    } else if (type == "cancel") {
      cancel(m.value("id", uint64_t{0}));
    } else if (type == "release_kv") {
      release_kv();
    } else if (type == "shutdown") {
      shutdown_ = true;
    }
  }

  void load(const json& m) {
    auto t0 = Clock::now();
    try {
      engine_ = std::make_unique<engine::Engine>(load_params_from(m));
    } catch (const std::exception& e) {
      proto::send_json(fd_, {{"type", "load_error"}, {"message", e.what()}});
      shutdown_ = true;
      return;
    }
    const auto& p = engine_->params();
    slots_.clear();
    slots_.resize(p.num_parallel);
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].seq = static_cast<int>(i);
    batch_ = llama_batch_init(static_cast<int32_t>(p.num_batch), 0, static_cast<int32_t>(p.num_parallel));
    batch_ready_ = true;
    proto::send_json(fd_, {{"type", "ready"},
                           {"num_ctx", p.num_ctx},
                           {"num_parallel", p.num_parallel},
                           {"n_ctx_train", engine_->n_ctx_train()},
                           {"load_ns", ns_between(t0, Clock::now())},
                           {"memory", engine_->memory().to_json()}});
  }

  void release_kv() {
    for (auto& s : slots_) s.cache.clear();
    if (engine_) engine_->free_context();
    proto::send_json(fd_, {{"type", "kv_released"}, {"memory", engine_ ? engine_->memory().to_json() : json()}});
  }

  void cancel(uint64_t id) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->value("id", uint64_t{0}) == id) {
        pending_.erase(it);
        send_done_cancelled(id);
        return;
      }
    }
    for (auto& s : slots_) {
      if (s.active && s.request_id == id) {
        finish(s, "cancelled");
        return;
      }
    }
  }

  void send_done_cancelled(uint64_t id) { proto::send_json(fd_, {{"type", "done"}, {"id", id}, {"done_reason", "cancelled"}}); }

  void send_error(uint64_t id, const std::string& msg) { proto::send_json(fd_, {{"type", "error"}, {"id", id}, {"message", msg}}); }

  std::string render_prompt(const json& m) {
    std::string mode = m.value("mode", "generate");
    std::vector<engine::ChatMessage> msgs;
    if (mode == "chat") {
      for (const auto& x : m.value("messages", json::array()))
        msgs.push_back({x.value("role", "user"), x.value("content", "")});
      return engine_->apply_chat_template(msgs, true);
    }
    std::string prompt = m.value("prompt", "");
    if (m.value("raw", false)) return prompt;
    std::string system = m.value("system", "");
    if (!system.empty()) msgs.push_back({"system", system});
    msgs.push_back({"user", prompt});
    return engine_->apply_chat_template(msgs, true);
  }

  // Moves pending requests into free slots: the free slot with the longest common prefix wins.
  void assign_pending() {
    while (!pending_.empty()) {
      if (!engine_) {
        send_error(pending_.front().value("id", uint64_t{0}), "model is not loaded");
        pending_.pop_front();
        continue;
      }
      json m = std::move(pending_.front());
      uint64_t id = m.value("id", uint64_t{0});
      std::vector<Token> prompt;
      try {
        if (!engine_->has_context()) engine_->create_context();
        prompt = engine_->tokenize(render_prompt(m), true);
      } catch (const std::exception& e) {
        pending_.pop_front();
        send_error(id, e.what());
        continue;
      }
      Slot* best = nullptr;
      size_t best_len = 0;
      for (auto& s : slots_) {
        if (s.active) continue;
        size_t len = common_prefix(s.cache, prompt);
        if (!best || len > best_len) best = &s, best_len = len;
      }
      if (!best) return;  // all busy: wait for a slot
      pending_.pop_front();
      start(*best, id, std::move(prompt), sampling_from_json(m.value("options", json::object())));
    }
  }

  void start(Slot& s, uint64_t id, std::vector<Token> prompt, SamplingOptions opts) {
    const size_t n_ctx = engine_->n_ctx_per_slot();
    if (prompt.empty()) prompt.push_back(llama_vocab_bos(engine_->vocab()));
    // Too long: keep num_keep tokens, drop from the middle, leave room to generate.
    size_t room = opts.num_predict > 0 ? std::min<size_t>(opts.num_predict, n_ctx / 2) : n_ctx / 4;
    size_t limit = n_ctx > room + 1 ? n_ctx - room - 1 : n_ctx / 2;
    if (prompt.size() > limit) {
      size_t keep = std::min<size_t>(std::max(opts.num_keep, 0), limit / 2);
      std::vector<Token> cut(prompt.begin(), prompt.begin() + keep);
      cut.insert(cut.end(), prompt.end() - (limit - keep), prompt.end());
      prompt.swap(cut);
    }
    size_t reuse = common_prefix(s.cache, prompt);
    if (reuse == prompt.size()) --reuse;  // the last prompt token must be decoded for logits
    llama_memory_seq_rm(llama_get_memory(engine_->ctx()), s.seq, static_cast<llama_pos>(reuse), -1);
    s.cache.resize(reuse);
    s.active = true;
    s.request_id = id;
    s.prompt = std::move(prompt);
    s.prefill_pos = reuse;
    s.next.reset();
    s.options = opts;
    s.sampler = engine::make_sampler(opts, engine_->vocab());
    s.text.emplace(opts.stop);
    s.generated = 0;
    s.prompt_evaluated = static_cast<int32_t>(s.prompt.size() - reuse);
    s.started = Clock::now();
  }

  void finish(Slot& s, const std::string& reason) {
    if (s.text) {
      std::string rest = s.text->flush();
      if (!rest.empty() && reason != "cancelled") send_text(s, rest);
    }
    auto now = Clock::now();
    bool prefilled = !s.prefilling();
    proto::send_json(fd_, {{"type", "done"},
                           {"id", s.request_id},
                           {"done_reason", reason},
                           {"prompt_eval_count", s.prompt_evaluated},
                           {"prompt_eval_duration", prefilled ? ns_between(s.started, s.prefill_done) : ns_between(s.started, now)},
                           {"eval_count", s.generated},
                           {"eval_duration", prefilled ? ns_between(s.prefill_done, now) : 0}});
    // Tokens beyond what the KV holds are dropped from the cache record.
    if (s.prefilling()) {
      s.cache.resize(s.prefill_pos);
    }
    s.active = false;
    s.sampler.reset();
    s.text.reset();
    s.next.reset();
  }

  void send_text(Slot& s, const std::string& text) {
    proto::send_json(fd_, {{"type", "token"}, {"id", s.request_id}, {"text", text}});
  }

  // One llama_decode over every active sequence: decode tokens first, then prefill chunks.
  void step() {
    const int32_t cap = static_cast<int32_t>(engine_->params().num_batch);
    batch_.n_tokens = 0;
    auto add = [&](Token t, llama_pos pos, int seq, bool logits) {
      int i = batch_.n_tokens++;
      batch_.token[i] = t;
      batch_.pos[i] = pos;
      batch_.n_seq_id[i] = 1;
      batch_.seq_id[i][0] = seq;
      batch_.logits[i] = logits;
      return i;
    };
    for (auto& s : slots_) {
      s.batch_index = -1;
      if (s.active && s.next && batch_.n_tokens < cap) {
        s.batch_index = add(*s.next, static_cast<llama_pos>(s.cache.size()), s.seq, true);
        s.cache.push_back(*s.next);
        s.next.reset();
      }
    }
    for (auto& s : slots_) {
      while (s.prefilling() && batch_.n_tokens < cap) {
        bool last = s.prefill_pos + 1 == s.prompt.size();
        int i = add(s.prompt[s.prefill_pos], static_cast<llama_pos>(s.cache.size()), s.seq, last);
        s.cache.push_back(s.prompt[s.prefill_pos++]);
        if (last) s.batch_index = i;
      }
    }
    if (batch_.n_tokens == 0) return;
    int rc = llama_decode(engine_->ctx(), batch_);
    if (rc != 0) {
      for (auto& s : slots_) {
        if (!s.active) continue;
        send_error(s.request_id, "decode failed (llama_decode returned " + std::to_string(rc) + ")");
        s.active = false;
        s.cache.clear();
        llama_memory_seq_rm(llama_get_memory(engine_->ctx()), s.seq, -1, -1);
      }
      return;
    }
    for (auto& s : slots_) {
      if (s.active && s.batch_index >= 0) sample(s);
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
