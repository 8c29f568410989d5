#pragma once
// Checks a "generate" or "embed" message the moment it arrives, before it waits for a slot:
// renders and tokenizes the prompt, applies the length rules and builds the sampler. Whatever the
// request itself gets wrong throws RequestError (status 400), so the client learns at once.
#include <nlohmann/json.hpp>

#include "runner/pending.h"

namespace ebb::engine {
class Engine;
}

namespace ebb::runner {

// Rules: with "truncate": false, a prompt of num_ctx tokens or more is refused ("prompt is too
// long: N tokens, context is M"); otherwise the slot cuts it later (keeping num_keep tokens).
PendingRequest prepare_generate(const engine::Engine& engine, const nlohmann::json& msg);

// "inputs": strings. An input longer than the context is cut to fit, or refused with
// "truncate": false. Reranking models (pooling rank) have no embeddings.
PendingRequest prepare_embed(const engine::Engine& engine, const nlohmann::json& msg);

}  // namespace ebb::runner
