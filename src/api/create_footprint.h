#pragma once
// What a quantizing create saves where it matters: the model's device footprint at its own
// context (its num_ctx parameter, else the server's default), from the same dry run the memory
// manager reserves by, for the source GGUF and for the quantized one: the seed's "4-bit halves
// the memory", shown on the user's own model.
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/server.h"

namespace ebb::api {

// A create progress object: {"status": "footprint at num_ctx N: A before, B after q4_0",
// "footprint": {"num_ctx", "before", "after", "weights_before", "weights_after"}} (bytes), or
// nullopt (and a logged warning) when the model or its source cannot be dry-run.
std::optional<nlohmann::json> quantize_footprint(ServerContext ctx, const std::string& model,
                                                 const std::filesystem::path& source, const std::string& type);

}  // namespace ebb::api
