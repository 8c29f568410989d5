#include "memory/snapshot_cache.h"

namespace ebb::memory {

bool SnapshotCache::put(Snapshot s, std::vector<Snapshot>* evicted) {
  std::lock_guard lk(mu_);
  if (s.bytes() > budget_) {
    if (evicted) evicted->push_back(std::move(s));
    return false;
  }
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    if (it->key == s.key && it->tokens == s.tokens) {
      used_ -= it->bytes();
      lru_.erase(it);
      break;
    }
  }
  evict_to_fit(s.bytes(), evicted);
  used_ += s.bytes();
  lru_.push_front(std::move(s));
  return true;
}

void SnapshotCache::evict_to_fit(uint64_t incoming, std::vector<Snapshot>* evicted) {
  while (!lru_.empty() && used_ + incoming > budget_) {
    used_ -= lru_.back().bytes();
    if (evicted) evicted->push_back(std::move(lru_.back()));
    lru_.pop_back();
  }
}

std::optional<Snapshot> SnapshotCache::best_match(const SnapshotKey& key, uint32_t n_ctx,
                                                  const std::vector<int32_t>& prompt, size_t min_prefix) {
  std::lock_guard lk(mu_);
  size_t len = 0;
  auto best = longest_prefix_match(lru_.begin(), lru_.end(), key, n_ctx, prompt, min_prefix, len);
  if (best == lru_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, best);
  return lru_.front();
}

std::vector<Snapshot> SnapshotCache::take_all() {
  std::lock_guard lk(mu_);
  std::vector<Snapshot> out(std::make_move_iterator(lru_.begin()), std::make_move_iterator(lru_.end()));
  lru_.clear();
  used_ = 0;
  return out;
}

bool SnapshotCache::has_any(const SnapshotKey& key) const {
  std::lock_guard lk(mu_);
  for (const auto& s : lru_)
    if (s.key == key) return true;
  return false;
}

uint64_t SnapshotCache::used() const {
  std::lock_guard lk(mu_);
  return used_;
}

size_t SnapshotCache::count() const {
  std::lock_guard lk(mu_);
  return lru_.size();
}

}  // namespace ebb::memory
