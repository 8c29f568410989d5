#pragma once
// Generation in a slot: a request starts (its prompt cut to fit, the slot's cached prefix kept),
// each runner step decodes every slot's next token and then prefill chunks in one batch, samples,
// streams text, and the request finishes with "done".
#include <string>

#include "runner/pending.h"
#include "runner/serving.h"

namespace ebb::runner {

// Starts `r` (a generate) in the free slot `s`: an empty prompt becomes BOS; a too-long prompt
// keeps num_keep tokens and loses tokens from the middle (with truncation); the slot keeps the
// prompt's common prefix with its cache (all but the last prompt token, which must be decoded
// for logits), saving the slot first when that loses much (prompt cache).
void start_generation(Serving& sv, Slot& s, PendingRequest& r);

// Sends the rest of the text (unless cancelled) and "done" with `reason`; frees the slot.
void finish_generation(Serving& sv, Slot& s, const std::string& reason);

// One decode over the generating slots: each slot's sampled token first (in slot order), then
// prefill chunks (in slot order) up to num_batch tokens; then every slot with an output row
// samples. A failed decode ends every generating request with an error.
void generation_step(Serving& sv);

}  // namespace ebb::runner
