#include "memory/ledger.h"

#include <limits>

namespace ebb::memory {

namespace {
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
}

Ledger::Ledger(uint64_t total, uint64_t headroom) : total_(total), budget_(headroom >= total ? 0 : total - headroom) {}

uint64_t Ledger::held(std::string_view id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? 0 : it->second.held;
}

uint64_t Ledger::reserved(std::string_view id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? 0 : it->second.reserved;
}

bool Ledger::replace(const std::string& id, Entry entry) {
  if (entry.held > kMax - entry.reserved) return false;
  uint64_t old = accounted(id);
  uint64_t others = used_ - old;
  uint64_t mine = entry.held + entry.reserved;
  if (mine > budget_ || others > budget_ - mine) return false;
  used_ = others + mine;
  if (mine == 0)
    entries_.erase(id);
  else
    entries_[id] = entry;
  return true;
}

bool Ledger::reserve(const std::string& id, uint64_t bytes) {
  uint64_t current = reserved(id);
  if (bytes > kMax - current) return false;
  return replace(id, {held(id), current + bytes});
}

bool Ledger::commit(const std::string& id, uint64_t bytes) { return replace(id, {bytes, 0}); }

bool Ledger::resize(const std::string& id, uint64_t bytes) { return replace(id, {bytes, reserved(id)}); }

void Ledger::release(std::string_view id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  used_ -= it->second.held + it->second.reserved;
  entries_.erase(it);
}

bool Ledger::invariant_ok() const {
  uint64_t sum = 0;
  for (const auto& [id, entry] : entries_) {
    if (entry.held + entry.reserved == 0) return false;
    sum += entry.held + entry.reserved;
  }
  return sum == used_ && used_ <= budget_;
}

}  // namespace ebb::memory
