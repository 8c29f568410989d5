#include "engine/sampler.h"

#include <random>
#include <stdexcept>

#include "engine/json_grammar.h"
#include "engine/penalty_sampler.h"
#include "llama.h"

namespace ebb::engine {

void SamplerDeleter::operator()(llama_sampler* s) const { llama_sampler_free(s); }

std::string format_grammar(const nlohmann::json& format) {
  if (format.is_null() || format == "") return "";
  if (format == "json") return json_object_grammar();
  if (format.is_object()) return json_schema_grammar(format.dump());
  throw std::runtime_error("invalid format: must be \"json\" or a JSON schema object");
}

SamplerPtr make_sampler(const SamplingOptions& o, const llama_vocab* vocab, const ChatPrompt* chat) {
  auto params = llama_sampler_chain_default_params();
  params.no_perf = true;
  SamplerPtr chain(llama_sampler_chain_init(params));
  auto add = [&](llama_sampler* s) { llama_sampler_chain_add(chain.get(), s); };
  // The grammar goes first so every later stage only sees tokens the format allows.
  if (!o.grammar.empty()) {
    llama_sampler* g = llama_sampler_init_grammar(vocab, o.grammar.c_str(), "root");
    if (!g) throw std::runtime_error("option 'grammar' is not a valid GBNF grammar");
    add(g);
  } else if (llama_sampler* g = chat ? chat_grammar_sampler(vocab, *chat) : nullptr) {
    add(g);
  } else if (std::string grammar = format_grammar(o.format); !grammar.empty()) {
    llama_sampler* g = llama_sampler_init_grammar(vocab, grammar.c_str(), "root");
    if (!g) throw std::runtime_error("the grammar for 'format' could not be parsed");
    add(g);
  }
  bool penalties = o.repeat_penalty != 1.0f || o.presence_penalty != 0.0f || o.frequency_penalty != 0.0f;
  if (penalties && o.repeat_last_n != 0) {
    int32_t last_n = o.repeat_last_n < 0 ? 4096 : o.repeat_last_n;
    add(make_penalty_sampler(llama_vocab_n_tokens(vocab), last_n, o.repeat_penalty, o.frequency_penalty,
                             o.presence_penalty));
  }
  if (o.temperature <= 0.0f) {
    add(llama_sampler_init_greedy());
    return chain;
  }
  if (o.top_k > 0) add(llama_sampler_init_top_k(o.top_k));
  if (o.typical_p > 0.0f && o.typical_p < 1.0f) add(llama_sampler_init_typical(o.typical_p, 1));
  if (o.top_p > 0.0f && o.top_p < 1.0f) add(llama_sampler_init_top_p(o.top_p, 1));
  if (o.min_p > 0.0f) add(llama_sampler_init_min_p(o.min_p, 1));
  add(llama_sampler_init_temp(o.temperature));
  uint32_t seed = o.seed < 0 ? std::random_device{}() : static_cast<uint32_t>(o.seed);
  add(llama_sampler_init_dist(seed));
  return chain;
}

}  // namespace ebb::engine
