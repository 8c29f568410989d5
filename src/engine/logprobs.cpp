#include "engine/logprobs.h"

#include <algorithm>
#include <cmath>

namespace ebb::engine {

namespace {

float clamped(float logprob) { return std::isnan(logprob) ? kMinLogprob : std::max(logprob, kMinLogprob); }

}  // namespace

RowLogprobs row_logprobs(const float* logits, int32_t n_vocab, int32_t chosen, int top_k) {
  RowLogprobs out;
  if (n_vocab <= 0) return out;
  const float max = *std::max_element(logits, logits + n_vocab);
  double sum = 0;  // in double: 100k+ small terms
  for (int32_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - max));
  const float log_z = max + static_cast<float>(std::log(sum));
  if (chosen >= 0 && chosen < n_vocab) out.chosen = clamped(logits[chosen] - log_z);

  const size_t k = static_cast<size_t>(std::clamp(top_k, 0, n_vocab));
  if (k == 0) return out;
  // A heap of the k best so far whose front is the worst of them.
  auto better = [](const TokenProb& a, const TokenProb& b) {
    return a.logprob > b.logprob || (a.logprob == b.logprob && a.token < b.token);
  };
  std::vector<TokenProb>& heap = out.top;
  heap.reserve(k);
  for (int32_t i = 0; i < n_vocab; ++i) {
    const TokenProb t{i, logits[i]};
    if (heap.size() < k) {
      heap.push_back(t);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(t, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = t;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);
  for (auto& t : heap) t.logprob = clamped(t.logprob - log_z);
  return out;
}

}  // namespace ebb::engine
