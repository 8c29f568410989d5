#pragma once
// Runs a function when the scope ends, however it ends (return, throw). The one scope guard of
// the code base: use it instead of a local struct with a destructor.
#include <utility>

namespace ebb {

template <class F>
class ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ~ScopeExit() {
    if (armed_) f_();
  }
  // The scope ended as planned: do not run it.
  void dismiss() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace ebb
