#include "runner/embeddings.h"

#include <algorithm>
#include <string>

#include "runner/snapshots.h"
#include "runner/timing.h"

namespace ebb::runner {

using protocol::Msg;

namespace {

void finish_embed(Serving& sv, Slot& s) {
  sv.out.send({{"type", type_name(Msg::Embeddings)},
               {"id", s.request_id},
               {"embeddings", s.embed->results()},
               {"prompt_eval_count", s.embed->tokens()},
               {"prompt_eval_duration", ns_between(s.started, Clock::now())}});
  end_embed(sv, s);
}

void fail_embeds(Serving& sv, int rc) {
  for (auto& s : sv.slots) {
    if (!s.active || !s.embed) continue;
    sv.out.error(s.request_id, "decode failed (llama_decode returned " + std::to_string(rc) + ")");
    end_embed(sv, s);
  }
}

bool any_embed(const Serving& sv) {
  for (const auto& s : sv.slots)
    if (s.active && s.embed) return true;
  return false;
}

}  // namespace

void start_embed(Serving& sv, Slot& s, PendingRequest& r) {
  save_before_overwrite(sv, s, 0);
  s.clear(sv.engine);
  s.reset();
  s.active = true;
  s.request_id = r.id;
  s.started = Clock::now();
  const engine::Engine& e = sv.engine;
  s.embed.emplace(std::move(r.inputs), e.pooling(), !e.causal_attention(), e.n_embd_out());
}

void end_embed(Serving& sv, Slot& s) {
  s.clear(sv.engine);
  s.reset();
}

void embeddings_step(Serving& sv) {
  if (!any_embed(sv)) return;
  const auto& p = sv.engine.params();
  const size_t cap =
      sv.engine.causal_attention() ? std::min<size_t>(p.num_batch, engine::Engine::kEmbedTokensPerDecode) : p.num_batch;
  struct Span {
    Slot* slot;
    int32_t first;
    size_t n;
  };
  std::vector<Span> spans;
  engine::Batcher& batch = sv.batcher;
  batch.clear();
  for (auto& s : sv.slots) {
    if (!s.active || !s.embed) continue;
    size_t n = s.embed->next_chunk(cap - static_cast<size_t>(batch.size()));
    if (n == 0) continue;
    if (s.embed->position() == 0) s.clear(sv.engine);  // a new input starts at position 0
    spans.push_back({&s, batch.size(), n});
    for (size_t k = 0; k < n; ++k) batch.add(s.embed->token(k), s.embed->position() + k, s.seq(), true);
  }
  if (spans.empty()) return;
  if (int rc = batch.decode_embeddings(); rc != 0) return fail_embeds(sv, rc);
  for (auto& sp : spans) {
    for (size_t k = 0; k < sp.n; ++k) sp.slot->embed->add_row(batch.embedding(sp.first + static_cast<int32_t>(k)));
    if (sp.slot->embed->done()) finish_embed(sv, *sp.slot);
  }
}

}  // namespace ebb::runner
