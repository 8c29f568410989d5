#pragma once
// WaitQueue: the bounded queue of loads that wait for busy models (planner step 3). FIFO, with a
// deadline per ticket; the supervisor owns one per device and plans its tickets again, in order,
// on every Replan action.
//
//   WaitQueue queue(64, 60s);
//   if (!queue.push(ticket, now)) → 503: refuse(request, models, ledger, "the queue is full")
//   queue.remove(ticket)          admitted (Fits/Evict), refused, or the client left
//   for (t : queue.expire(now))   → 503: refuse(..., "timed out after 60 s waiting")
//   queue.tickets()               plan these again, oldest first
//   queue.next_deadline()         when to call expire() next
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "memory/clock.h"

namespace ebb::memory {

class WaitQueue {
 public:
  using Ticket = uint64_t;

  explicit WaitQueue(std::size_t capacity = 64, Duration timeout = std::chrono::seconds(60));

  // false when the queue is full. A ticket already queued keeps its place and deadline.
  bool push(Ticket ticket, TimePoint now);
  bool remove(Ticket ticket);
  std::vector<Ticket> expire(TimePoint now);  // removes and returns the tickets past deadline
  std::vector<Ticket> tickets() const;        // oldest first
  std::optional<TimePoint> next_deadline() const;

  std::size_t size() const { return entries_.size(); }
  bool full() const { return entries_.size() >= capacity_; }
  Duration timeout() const { return timeout_; }

 private:
  struct Entry {
    Ticket ticket;
    TimePoint deadline;
  };
  std::size_t capacity_;
  Duration timeout_;
  std::vector<Entry> entries_;  // oldest first; deadlines ascend with it
};

}  // namespace ebb::memory
