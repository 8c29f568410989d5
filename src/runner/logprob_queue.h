#pragma once
// The log-probabilities of a request's generated tokens, waiting for their text. The slot's
// TextStream holds text back (an incomplete UTF-8 character, a tail that may start a stop
// string), so an entry goes out with the token event that releases the last byte of its token:
// a streamed chunk then carries the entries of the tokens its text came from. Entries whose text
// never goes out (a stop string) leave at the end with take_all, so every generated token has one.
#include <cstddef>
#include <deque>
#include <vector>

#include "common/token_logprob.h"

namespace ebb::runner {

class LogprobQueue {
 public:
  // top_logprobs: how many most likely tokens each entry lists (0..20).
  explicit LogprobQueue(int top_logprobs) : top_logprobs_(top_logprobs) {}
  int top_logprobs() const { return top_logprobs_; }

  // The next generated token's entry; its bytes follow those of the entries before it.
  void push(Logprob entry);
  // The text stream let `bytes` more bytes out: the entries whose bytes are now all out.
  std::vector<Logprob> take(size_t bytes);
  std::vector<Logprob> take_all();

 private:
  struct Waiting {
    size_t end;  // bytes of all tokens up to this one
    Logprob entry;
  };
  int top_logprobs_;
  std::deque<Waiting> waiting_;
  size_t pushed_bytes_ = 0, released_bytes_ = 0;
};

}  // namespace ebb::runner
