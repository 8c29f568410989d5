#pragma once
// An embed request running in a slot. Its inputs are decoded one after another in the slot's
// sequence, a chunk per runner step, with per-token embedding output switched on for that
// decode; each input's rows are pooled as the model declares (mean for generative models).
#include <cstdint>
#include <vector>

#include "engine/engine.h"

namespace ebb::runner {

class EmbedJob {
 public:
  // whole_input: non-causal attention, so an input must be decoded in one piece.
  EmbedJob(std::vector<std::vector<int32_t>> inputs, engine::Pooling pooling, bool whole_input, int32_t n_embd);

  bool done() const { return input_ >= inputs_.size(); }
  // How many tokens of the current input go into a batch with `room` free places.
  size_t next_chunk(size_t room) const;
  // The next token to decode and its position (0 starts a new input: the sequence is cleared).
  int32_t token(size_t k) const { return inputs_[input_][pos_ + k]; }
  size_t position() const { return pos_; }
  // The embedding row of the next token; finishes the input after its last token.
  void add_row(const float* row);

  const std::vector<std::vector<float>>& results() const { return out_; }
  int32_t tokens() const { return tokens_; }

 private:
  std::vector<std::vector<int32_t>> inputs_;
  engine::Pooling pooling_;
  bool whole_input_;
  int32_t n_embd_;
  size_t input_ = 0, pos_ = 0;
  std::vector<double> acc_;
  std::vector<std::vector<float>> out_;
  int32_t tokens_ = 0;
};

}  // namespace ebb::runner
