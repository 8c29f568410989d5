#include "memory/wait_queue.h"

#include <algorithm>

namespace ebb::memory {

WaitQueue::WaitQueue(std::size_t capacity, Duration timeout) : capacity_(capacity), timeout_(timeout) {}

bool WaitQueue::push(Ticket ticket, TimePoint now) {
  auto queued = [&](const Entry& e) { return e.ticket == ticket; };
  if (std::any_of(entries_.begin(), entries_.end(), queued)) return true;
  if (full()) return false;
  entries_.push_back({ticket, later(now, timeout_)});
  return true;
}

bool WaitQueue::remove(Ticket ticket) {
  return std::erase_if(entries_, [&](const Entry& e) { return e.ticket == ticket; }) > 0;
}

std::vector<WaitQueue::Ticket> WaitQueue::expire(TimePoint now) {
  std::vector<Ticket> expired;
  std::erase_if(entries_, [&](const Entry& e) {
    if (e.deadline > now) return false;
    expired.push_back(e.ticket);
    return true;
  });
  return expired;
}

std::vector<WaitQueue::Ticket> WaitQueue::tickets() const {
  std::vector<Ticket> out;
  for (const auto& e : entries_) out.push_back(e.ticket);
  return out;
}

std::optional<TimePoint> WaitQueue::next_deadline() const {
  if (entries_.empty()) return std::nullopt;
  return std::min_element(entries_.begin(), entries_.end(),
                          [](const Entry& a, const Entry& b) { return a.deadline < b.deadline; })
      ->deadline;
}

}  // namespace ebb::memory
