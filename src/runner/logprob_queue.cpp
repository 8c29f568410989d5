#include "runner/logprob_queue.h"

namespace ebb::runner {

void LogprobQueue::push(Logprob entry) {
  pushed_bytes_ += entry.chosen.token.size();
  waiting_.push_back({pushed_bytes_, std::move(entry)});
}

std::vector<Logprob> LogprobQueue::take(size_t bytes) {
  released_bytes_ += bytes;
  std::vector<Logprob> out;
  while (!waiting_.empty() && waiting_.front().end <= released_bytes_) {
    out.push_back(std::move(waiting_.front().entry));
    waiting_.pop_front();
  }
  return out;
}

std::vector<Logprob> LogprobQueue::take_all() {
  std::vector<Logprob> out;
  for (auto& w : waiting_) out.push_back(std::move(w.entry));
  waiting_.clear();
  return out;
}

}  // namespace ebb::runner
