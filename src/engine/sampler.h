#pragma once
// Builds a llama.cpp sampler chain from Ollama options.
#include <memory>
#include <string>

#include "common/options.h"
#include "engine/chat_format.h"

struct llama_sampler;
struct llama_vocab;

namespace ebb::engine {

struct SamplerDeleter {
  void operator()(llama_sampler* s) const;
};
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

// The GBNF grammar for a "format" (see SamplingOptions::format); "" for free text.
// Throws std::runtime_error for a schema that does not convert.
std::string format_grammar(const nlohmann::json& format);

// Order: the grammar (the chat format's when it has one, which then includes the format's
// schema; else the format's), penalties, then (temperature <= 0) greedy, else top_k,
// typical_p, top_p, min_p, temperature, dist.
// Throws std::runtime_error when the format cannot become a grammar.
SamplerPtr make_sampler(const SamplingOptions& o, const llama_vocab* vocab, const ChatPrompt* chat = nullptr);

}  // namespace ebb::engine
