#pragma once
// Embeddings, shared by Ollama's /api/embed and /api/embeddings and OpenAI's /v1/embeddings: the
// request, and one call to the model's runner.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/client_watch.h"
#include "api/server.h"
#include "common/options.h"
#include "common/units.h"

namespace ebb::api {

struct EmbedRequest {
  std::string model;
  nlohmann::json inputs = nlohmann::json::array();  // strings, or arrays of token ids (OpenAI's)
  bool truncate = true;
  int dimensions = 0;  // 0: all
  ParsedOptions options;
  nlohmann::json raw_options;  // "options" as given: a stored model's params go under it
  std::optional<KeepAlive> keep_alive;
};

// Reads an /api/embed body ("input": a string or an array of strings), or with `legacy` an
// /api/embeddings one ("prompt"). `token_inputs`: "input" may also hold arrays of token ids (the
// body OpenAI's embeddings translate to). Throws std::invalid_argument (400).
EmbedRequest parse_embed_request(const nlohmann::json& body, bool legacy, bool token_inputs = false);

struct Embeddings {
  std::vector<std::vector<float>> vectors;  // one per input, as the runner pooled them
  int64_t tokens = 0;                       // the inputs' tokens
  int64_t load_ns = 0;
};

// Embeds the request's inputs on `entry` (no inputs: only loads the model). On failure, or when
// the client hangs up, answers `res` as the other routes do and returns nullopt.
std::optional<Embeddings> compute_embeddings(ServerContext ctx, const supervisor::ModelEntry& entry,
                                             const EmbedRequest& r, const ClientWatch& client, httplib::Response& res);

// Cuts each vector to `dimensions` (0: all), then scales it to unit length (a zero vector stays).
void finish_embeddings(std::vector<std::vector<float>>& vectors, int dimensions);

}  // namespace ebb::api
