#pragma once
// KV snapshots kept in supervisor RAM: each is one sequence's llama.cpp state plus the tokens it
// holds. They outlive runners (a runner that dies or unloads leaves them here) and are matched
// to a new prompt by the longest common token prefix. Budgeted, least recently used out first.
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/shared_blob.h"
#include "common/token_prefix.h"

namespace ebb::memory {

struct SnapshotKey {
  std::string path;  // model file identity: path, size, mtime
  uint64_t file_size = 0;
  int64_t mtime_ns = 0;
  std::string kv_type;  // KV cache type the state was saved with
  bool operator==(const SnapshotKey&) const = default;
};

// Among [first, last) (elements with .key, .n_ctx and .tokens): the one whose key matches, whose
// n_ctx is at least `n_ctx`, and whose common prefix with `prompt` is the longest and at least
// `min_prefix` (the first one on ties); `last` when none. `len` gets that prefix's length.
template <class It>
It longest_prefix_match(It first, It last, const SnapshotKey& key, uint32_t n_ctx, const std::vector<int32_t>& prompt,
                        size_t min_prefix, size_t& len) {
  It best = last;
  len = 0;
  for (; first != last; ++first) {
    if (!(first->key == key) || first->n_ctx < n_ctx) continue;
    size_t l = common_prefix(first->tokens, prompt);
    if (l >= min_prefix && l > len) best = first, len = l;
  }
  return best;
}

struct Snapshot {
  SnapshotKey key;
  uint32_t n_ctx = 0;  // per-sequence context it was saved from
  std::vector<int32_t> tokens;
  std::shared_ptr<const SharedBlob> state;  // llama_state_seq_get_data bytes in a sealed memfd, never copied
  uint64_t bytes() const { return (state ? state->size() : 0) + tokens.size() * sizeof(int32_t); }
};

class SnapshotCache {
 public:
  explicit SnapshotCache(uint64_t budget) : budget_(budget) {}

  // Stores a snapshot; replaces one with the same key and tokens; evicts LRU to fit.
  // A snapshot larger than the whole budget is not kept (returns false). What leaves the cache
  // (evicted, or refused for its size) goes to `evicted` when given, e.g. to spill it to disk.
  bool put(Snapshot s, std::vector<Snapshot>* evicted = nullptr);
  // The snapshot with the longest common prefix with `prompt` (at least `min_prefix` tokens) whose
  // key matches and whose n_ctx is at least `n_ctx`. Marks it recently used.
  std::optional<Snapshot> best_match(const SnapshotKey& key, uint32_t n_ctx, const std::vector<int32_t>& prompt,
                                     size_t min_prefix = 1);
  bool has_any(const SnapshotKey& key) const;
  // Empties the cache, handing every snapshot over (most recently used first).
  std::vector<Snapshot> take_all();
  uint64_t used() const;
  uint64_t budget() const { return budget_; }
  size_t count() const;

 private:
  void evict_to_fit(uint64_t incoming, std::vector<Snapshot>* evicted);
  uint64_t budget_;
  uint64_t used_ = 0;
  mutable std::mutex mu_;
  std::list<Snapshot> lru_;  // front: most recently used
};

}  // namespace ebb::memory
