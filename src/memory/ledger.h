#pragma once
// Ledger: the accounted bytes of one device. It is what guarantees that the budget
// (total − headroom) is never exceeded, even with concurrent loads: every change that could grow
// use is checked here, and refused when it does not fit.
//
// Each id (a model name) has `held` bytes (a runner has them) and `reserved` bytes (a load that
// has not finished). TierMachine drives it; the planner reads it.
//
//   Ledger ledger(8_GiB, 1600_MiB);       budget() = total − headroom
//   ledger.reserve("m", fp.total())       before a load starts; false: it does not fit
//   ledger.commit("m", actual.total())    load done: held = actual, reserved = 0; false: no room
//   ledger.resize("m", fp.without_kv())   the runner freed its KV; growing must fit
//   ledger.release("m")                   the runner is gone: held = reserved = 0
//   ledger.invariant_ok()                 used() <= budget() and the books add up
//
// A refused call changes nothing.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace ebb::memory {

class Ledger {
 public:
  explicit Ledger(uint64_t total = 0, uint64_t headroom = 0);

  uint64_t total() const { return total_; }
  uint64_t headroom() const { return total_ - budget_; }
  uint64_t budget() const { return budget_; }
  uint64_t used() const { return used_; }  // held + reserved, all ids
  uint64_t free() const { return budget_ - used_; }
  uint64_t held(std::string_view id) const;
  uint64_t reserved(std::string_view id) const;
  uint64_t accounted(std::string_view id) const { return held(id) + reserved(id); }

  bool reserve(const std::string& id, uint64_t bytes);
  bool commit(const std::string& id, uint64_t bytes);
  bool resize(const std::string& id, uint64_t bytes);
  void release(std::string_view id);

  bool invariant_ok() const;

 private:
  struct Entry {
    uint64_t held = 0;
    uint64_t reserved = 0;
  };
  // Replaces id's entry when the new use fits the budget.
  bool replace(const std::string& id, Entry entry);

  uint64_t total_;
  uint64_t budget_;
  uint64_t used_ = 0;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace ebb::memory
