#pragma once
// Longest common prefix of two token sequences: how prompts are matched to slots and snapshots.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ebb {

inline size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

}  // namespace ebb
