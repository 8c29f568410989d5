#include "runner/embed_job.h"

#include <algorithm>

namespace ebb::runner {

EmbedJob::EmbedJob(std::vector<std::vector<int32_t>> inputs, engine::Pooling pooling, bool whole_input, int32_t n_embd)
    : inputs_(std::move(inputs)), pooling_(pooling), whole_input_(whole_input), n_embd_(n_embd) {}

size_t EmbedJob::next_chunk(size_t room) const {
  if (done()) return 0;
  size_t left = inputs_[input_].size() - pos_;
  if (whole_input_) return left <= room ? left : 0;
  return std::min(left, room);
}

void EmbedJob::add_row(const float* row) {
  const size_t n = inputs_[input_].size();
  const bool first = pos_ == 0, last = pos_ + 1 == n;
  if (first) acc_.assign(n_embd_, 0.0);
  const bool take = pooling_ == engine::Pooling::Cls ? first : pooling_ == engine::Pooling::Last ? last : true;
  if (take)
    for (int32_t i = 0; i < n_embd_; ++i) acc_[i] += row[i];
  ++pos_;
  ++tokens_;
  if (!last) return;
  const bool mean = pooling_ == engine::Pooling::Mean || pooling_ == engine::Pooling::None;
  std::vector<float> v(n_embd_);
  for (int32_t i = 0; i < n_embd_; ++i) v[i] = static_cast<float>(mean ? acc_[i] / static_cast<double>(n) : acc_[i]);
  out_.push_back(std::move(v));
  ++input_;
  pos_ = 0;
}

}  // namespace ebb::runner
