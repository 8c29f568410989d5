#pragma once
// What a stored model's layers add to a request, in Ollama's order: the model's PARAMETERs under
// the request's options, its SYSTEM when the request has none, its MESSAGEs before a chat's own,
// and its TEMPLATE when the request has none and ebb's Go-template subset renders it (otherwise
// the GGUF's chat template serves, with tools and thinking).
#include <vector>

#include "api/embed.h"
#include "api/generate_request.h"
#include "common/capabilities.h"
#include "supervisor/model_registry.h"

namespace ebb::api {

// Throws std::invalid_argument (OptionsError) when the merged options are not valid.
void apply_model_defaults(GenerateRequest& r, const supervisor::ModelEntry& entry);
void apply_model_defaults(EmbedRequest& r, const supervisor::ModelEntry& entry);

// The model's capabilities (common/capabilities.h). A stored template that ebb renders decides
// them as in Ollama: no tools or thinking (the subset has neither), "insert" when it reads .Suffix.
std::vector<Capability> entry_capabilities(const supervisor::ModelEntry& entry, const GgufInfo& info);

}  // namespace ebb::api
