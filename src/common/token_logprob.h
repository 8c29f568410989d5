#pragma once
// Per-token log-probabilities of a generation: what the runner reports for each generated token
// (docs/protocol.md) and what the API shapes write (docs/api.md). A token is its piece as raw
// bytes, which may be part of a UTF-8 character (byte tokens).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ebb {

// The most alternatives a request may ask for per token (Ollama's and OpenAI's limit).
inline constexpr int kMaxTopLogprobs = 20;

struct TokenLogprob {
  std::string token;
  double logprob = 0;
};

// One generated token: its own log-probability and, when asked, the most likely tokens at its
// position (most likely first).
struct Logprob {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;
};

// The wire form in a runner's token event, compact because it goes with every token: an array of
// entries, each [token, logprob] or [token, logprob, [[token, logprob], ...]]; a token is a
// string when its bytes are valid UTF-8, else the array of its byte values.
nlohmann::json logprobs_to_wire(const std::vector<Logprob>& entries);
// The entries of a token event's "logprobs"; an entry of another shape is skipped.
std::vector<Logprob> logprobs_from_wire(const nlohmann::json& wire);

// The token's bytes as integers 0..255 (the APIs' "bytes").
nlohmann::json token_bytes(const std::string& token);

// `x` as the double whose shortest decimal form is the float's (-0.12345679, not
// -0.12345679104328156), so a float-precision logprob stays short in JSON.
double shortest_double(float x);

bool valid_utf8(const std::string& s);

}  // namespace ebb
