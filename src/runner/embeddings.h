#pragma once
// Embed requests in slots. Each runner step gives the embed slots one decode of their own, with
// embedding output on, before the generation decode: generating slots see exactly the batches
// they would see without the embed. Chunks are at most Engine::kEmbedTokensPerDecode tokens
// (a non-causal model decodes each input whole); each input restarts the slot's sequence.
#include "runner/pending.h"
#include "runner/serving.h"

namespace ebb::runner {

// Starts `r` (an embed) in the free slot `s`; its sequence is cleared (saved first with the
// prompt cache).
void start_embed(Serving& sv, Slot& s, PendingRequest& r);
// Frees an embed slot; its sequence keeps nothing.
void end_embed(Serving& sv, Slot& s);
// One decode over the embed slots' next chunks; finished slots send "embeddings". A failed
// decode ends every embed request with an error.
void embeddings_step(Serving& sv);

}  // namespace ebb::runner
