#include "engine/penalty_sampler.h"

#include <deque>
#include <unordered_map>

#include "llama.h"

namespace ebb::engine {
namespace {

struct Penalties {
  int32_t n_vocab;
  int32_t last_n;
  float repeat, frequency, presence;
  std::deque<llama_token> window;               // the last `last_n` accepted tokens, oldest first
  std::unordered_map<llama_token, int> counts;  // occurrences in the window

  void penalize(llama_token_data& d, int count) const {
    // Multiply a negative logit: dividing it would make the token more likely.
    d.logit = d.logit <= 0 ? d.logit * repeat : d.logit / repeat;
    d.logit -= static_cast<float>(count) * frequency + (count > 0 ? presence : 0.0f);
  }

  // True when every windowed token sits at its own index of the candidates.
  bool by_index(const llama_token_data_array& cur) const {
    if (cur.size != static_cast<size_t>(n_vocab)) return false;
    for (const auto& [token, count] : counts)
      if (token < 0 || token >= n_vocab || cur.data[token].id != token) return false;
    return true;
  }
};

Penalties& state(llama_sampler* s) { return *static_cast<Penalties*>(s->ctx); }
const Penalties& state(const llama_sampler* s) { return *static_cast<const Penalties*>(s->ctx); }

const char* name(const llama_sampler*) { return "ebb-penalties"; }

void accept(llama_sampler* s, llama_token token) {
  Penalties& p = state(s);
  ++p.counts[token];
  if (static_cast<int32_t>(p.window.size()) >= p.last_n) {
    llama_token old = p.window.front();
    p.window.pop_front();
    if (--p.counts[old] == 0) p.counts.erase(old);
  }
  p.window.push_back(token);
}

void apply(llama_sampler* s, llama_token_data_array* cur) {
  const Penalties& p = state(s);
  if (p.counts.empty()) return;
  if (p.by_index(*cur)) {
    for (const auto& [token, count] : p.counts) p.penalize(cur->data[token], count);
  } else {
    for (size_t i = 0; i < cur->size; ++i)
      if (auto it = p.counts.find(cur->data[i].id); it != p.counts.end()) p.penalize(cur->data[i], it->second);
  }
  cur->sorted = false;
}

void reset(llama_sampler* s) {
  state(s).window.clear();
  state(s).counts.clear();
}

llama_sampler* clone(const llama_sampler* s);

void free_state(llama_sampler* s) { delete static_cast<Penalties*>(s->ctx); }

llama_sampler_i* interface() {
  static llama_sampler_i iface = [] {
    llama_sampler_i i{};  // no backend sampling
    i.name = name;
    i.accept = accept;
    i.apply = apply;
    i.reset = reset;
    i.clone = clone;
    i.free = free_state;
    return i;
  }();
  return &iface;
}

llama_sampler* clone(const llama_sampler* s) { return llama_sampler_init(interface(), new Penalties(state(s))); }

}  // namespace

llama_sampler* make_penalty_sampler(int32_t n_vocab, int32_t last_n, float repeat, float frequency, float presence) {
  return llama_sampler_init(interface(), new Penalties{n_vocab, last_n, repeat, frequency, presence, {}, {}});
}

}  // namespace ebb::engine
