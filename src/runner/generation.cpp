#include "runner/generation.h"

#include <algorithm>

#include "runner/snapshots.h"
#include "runner/timing.h"

namespace ebb::runner {

using protocol::Msg;

namespace {

// A token event: the delta, and the logprobs of the tokens whose text is out (an event may carry
// only those, when a parser still holds their text back).
void send_delta(Serving& sv, const Slot& s, const MessageDelta& d, const std::vector<Logprob>& logprobs = {}) {
  if (d.empty() && logprobs.empty()) return;
  nlohmann::json m = {{"type", type_name(Msg::Token)}, {"id", s.request_id}, {"text", d.content}};
  if (!d.thinking.empty()) m["thinking"] = d.thinking;
  if (!d.tool_calls.empty()) m["tool_calls"] = d.tool_calls;
  if (!logprobs.empty()) m["logprobs"] = logprobs_to_wire(logprobs);
  sv.out.send(m);
}

// Text safe to send: as it is, or through the request's output parser.
void send_text(Serving& sv, Slot& s, const std::string& text) {
  std::vector<Logprob> logprobs = s.logprobs ? s.logprobs->take(text.size()) : std::vector<Logprob>{};
  if (text.empty() && logprobs.empty()) return;
  MessageDelta d = text.empty() ? MessageDelta{} : s.parsed ? s.parsed->push(text) : MessageDelta::text(text);
  send_delta(sv, s, d, logprobs);
}

// Too long: keep num_keep tokens, drop from the middle, leave room to generate. Without
// truncation the prompt fits (checked on arrival) and generation ends when the context is full.
void cut_to_fit(std::vector<Token>& prompt, const SamplingOptions& opts, size_t n_ctx) {
  size_t room = opts.num_predict > 0 ? std::min<size_t>(opts.num_predict, n_ctx / 2) : n_ctx / 4;
  size_t limit = n_ctx > room + 1 ? n_ctx - room - 1 : n_ctx / 2;
  if (prompt.size() <= limit) return;
  size_t keep = std::min<size_t>(std::max(opts.num_keep, 0), limit / 2);
  std::vector<Token> cut(prompt.begin(), prompt.begin() + keep);
  cut.insert(cut.end(), prompt.end() - (limit - keep), prompt.end());
  prompt.swap(cut);
}

void sample(Serving& sv, Slot& s) {
  if (s.generated == 0 && !s.next) s.prefill_done = Clock::now();
  Token t = sv.batcher.sample(s.sampler, s.batch_index);
  if (sv.engine.is_eog(t)) return finish_generation(sv, s, "stop");
  ++s.generated;
  if (s.logprobs) s.logprobs->push(sv.batcher.logprobs(s.batch_index, t, s.logprobs->top_logprobs()));
  send_text(sv, s, s.text->push(sv.engine.piece(t)));
  if (s.text->stopped()) return finish_generation(sv, s, "stop");
  if (s.options.num_predict > 0 && s.generated >= s.options.num_predict) return finish_generation(sv, s, "length");
  if (s.cache().size() + 1 >= sv.engine.n_ctx_per_slot()) return finish_generation(sv, s, "length");
  s.next = t;
}

// Ends every generating request after a failed decode; their sequences keep nothing.
void fail_generation(Serving& sv, int rc) {
  for (auto& s : sv.slots) {
    if (!s.active || s.embed) continue;
    sv.out.error(s.request_id, "decode failed (llama_decode returned " + std::to_string(rc) + ")");
    s.clear(sv.engine);
    s.reset();
  }
}

}  // namespace

void start_generation(Serving& sv, Slot& s, PendingRequest& r) {
  std::vector<Token> prompt = std::move(*r.prompt);
  if (prompt.empty()) prompt.push_back(sv.engine.bos());
  if (r.truncate) cut_to_fit(prompt, r.options, sv.engine.n_ctx_per_slot());
  size_t reuse = common_prefix(s.cache(), prompt);
  if (reuse == prompt.size()) --reuse;  // the last prompt token must be decoded for logits
  save_before_overwrite(sv, s, reuse);
  s.truncate(sv.engine, reuse);
  s.reset();
  s.active = true;
  s.request_id = r.id;
  s.prompt = std::move(prompt);
  s.prefill_pos = reuse;
  s.options = std::move(r.options);
  s.sampler = std::move(r.sampler);
  s.text.emplace(s.options.stop);
  if (r.parser) s.parsed.emplace(std::move(r.parser), r.keep_thinking);
  if (r.logprobs) s.logprobs.emplace(r.top_logprobs);
  s.prompt_evaluated = static_cast<int32_t>(s.prompt.size() - reuse);
  s.started = Clock::now();
}

void finish_generation(Serving& sv, Slot& s, const std::string& reason) {
  if (s.text && reason != "cancelled") {
    send_text(sv, s, s.text->flush());
    // What the parser held back, and the logprobs of a stop string's tokens (never sent as text).
    send_delta(sv, s, s.parsed ? s.parsed->finish() : MessageDelta{},
               s.logprobs ? s.logprobs->take_all() : std::vector<Logprob>{});
  }
  auto now = Clock::now();
  bool prefilled = !s.prefilling();
  sv.out.send({{"type", type_name(Msg::Done)},
               {"id", s.request_id},
               {"done_reason", reason},
               {"prompt_tokens", s.prompt.size()},
               {"prompt_eval_count", s.prompt_evaluated},
               {"prompt_eval_duration", prefilled ? ns_between(s.started, s.prefill_done) : ns_between(s.started, now)},
               {"eval_count", s.generated},
               {"eval_duration", prefilled ? ns_between(s.prefill_done, now) : 0},
               {"restored_tokens", s.restored_tokens},
               {"restore_duration", s.restore_ns},
               {"shared_tokens", s.shared_tokens}});
  // Prompt tokens not decoded yet are not in the KV (a request cancelled while prefilling).
  if (s.prefilling()) s.truncate(sv.engine, s.prefill_pos);
  s.reset();
}

void generation_step(Serving& sv) {
  engine::Batcher& batch = sv.batcher;
  const int32_t cap = static_cast<int32_t>(sv.engine.params().num_batch);
  batch.clear();
  for (auto& s : sv.slots) {
    s.batch_index = -1;
    if (s.active && s.next && batch.size() < cap) {
      s.batch_index = batch.add(*s.next, s.cache().size(), s.seq(), true);
      s.push(*s.next);
      s.next.reset();
    }
  }
  for (auto& s : sv.slots) {
    while (s.prefilling() && batch.size() < cap) {
      bool last = s.prefill_pos + 1 == s.prompt.size();
      int32_t i = batch.add(s.prompt[s.prefill_pos], s.cache().size(), s.seq(), last);
      s.push(s.prompt[s.prefill_pos++]);
      if (last) s.batch_index = i;
    }
  }
  if (batch.empty()) return;
  if (int rc = batch.decode(); rc != 0) return fail_generation(sv, rc);
  for (auto& s : sv.slots) {
    if (s.active && !s.embed && s.batch_index >= 0) sample(sv, s);
  }
}

}  // namespace ebb::runner
