// Ledger: the device budget is never exceeded, whatever order reservations, commits and
// releases come in.
#include "memory/ledger.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "memory_test_helpers.h"

namespace ebb::memory {
namespace {

using namespace memtest;

TEST(MemoryLedger, BudgetIsTotalMinusHeadroom) {
  Ledger ledger(10 * GiB, 2 * GiB);
  EXPECT_EQ(ledger.total(), 10 * GiB);
  EXPECT_EQ(ledger.headroom(), 2 * GiB);
  EXPECT_EQ(ledger.budget(), 8 * GiB);
  EXPECT_EQ(ledger.used(), 0u);
  EXPECT_EQ(ledger.free(), 8 * GiB);
  EXPECT_TRUE(ledger.invariant_ok());
}

TEST(MemoryLedger, HeadroomLargerThanTotalLeavesNoBudget) {
  Ledger ledger(1 * GiB, 2 * GiB);
  EXPECT_EQ(ledger.budget(), 0u);
  EXPECT_FALSE(ledger.reserve("a", 1));
  EXPECT_TRUE(ledger.reserve("a", 0));
  EXPECT_TRUE(ledger.invariant_ok());
}

TEST(MemoryLedger, ReserveUpToTheBudgetExactly) {
  Ledger ledger(8 * GiB);
  EXPECT_TRUE(ledger.reserve("a", 5 * GiB));
  EXPECT_TRUE(ledger.reserve("b", 3 * GiB));
  EXPECT_EQ(ledger.used(), 8 * GiB);
  EXPECT_EQ(ledger.free(), 0u);
  EXPECT_TRUE(ledger.invariant_ok());
}

TEST(MemoryLedger, ReserveBeyondTheBudgetIsRefusedAndChangesNothing) {
  Ledger ledger(8 * GiB);
  ASSERT_TRUE(ledger.reserve("a", 5 * GiB));
  EXPECT_FALSE(ledger.reserve("b", 3 * GiB + 1));
  EXPECT_EQ(ledger.used(), 5 * GiB);
  EXPECT_EQ(ledger.reserved("b"), 0u);
  EXPECT_TRUE(ledger.invariant_ok());
}

TEST(MemoryLedger, ReservationsOfOneIdAddUp) {
  Ledger ledger(8 * GiB);
  ASSERT_TRUE(ledger.reserve("a", 1 * GiB));
  ASSERT_TRUE(ledger.reserve("a", 2 * GiB));
  EXPECT_EQ(ledger.reserved("a"), 3 * GiB);
  EXPECT_EQ(ledger.accounted("a"), 3 * GiB);
}

TEST(MemoryLedger, CommitTurnsTheReservationIntoHeldBytes) {
  Ledger ledger(8 * GiB);
  ASSERT_TRUE(ledger.reserve("a", 4 * GiB));
  ASSERT_TRUE(ledger.commit("a", 3 * GiB));  // smaller than reserved: the rest comes back
  EXPECT_EQ(ledger.held("a"), 3 * GiB);
  EXPECT_EQ(ledger.reserved("a"), 0u);
  EXPECT_EQ(ledger.used(), 3 * GiB);
  EXPECT_TRUE(ledger.invariant_ok());
}

TEST(MemoryLedger, CommitLargerThanReservedMustFit) {
  Ledger ledger(8 * GiB);
  ASSERT_TRUE(ledger.reserve("a", 4 * GiB));
  ASSERT_TRUE(ledger.reserve("b", 3 * GiB));
  EXPECT_TRUE(ledger.commit("a", 5 * GiB));  // 1 GiB was free
  EXPECT_FALSE(ledger.commit("b", 3 * GiB + 1));
  EXPECT_EQ(ledger.reserved("b"), 3 * GiB);  // unchanged
  EXPECT_EQ(ledger.used(), 8 * GiB);
  EXPECT_TRUE(ledger.invariant_ok());
}

TEST(MemoryLedger, ResizeShrinksFreelyAndGrowsOnlyIntoFreeBytes) {
  Ledger ledger(8 * GiB);
  ASSERT_TRUE(ledger.commit("a", 6 * GiB));
  EXPECT_TRUE(ledger.resize("a", 4 * GiB));  // KV released
  EXPECT_EQ(ledger.used(), 4 * GiB);
  EXPECT_TRUE(ledger.resize("a", 8 * GiB));
  EXPECT_FALSE(ledger.resize("a", 8 * GiB + 1));
  EXPECT_EQ(ledger.held("a"), 8 * GiB);
  EXPECT_TRUE(ledger.invariant_ok());
}

TEST(MemoryLedger, ResizeKeepsTheReservation) {
  Ledger ledger(8 * GiB);
  ASSERT_TRUE(ledger.commit("a", 4 * GiB));
  ASSERT_TRUE(ledger.reserve("a", 2 * GiB));
  ASSERT_TRUE(ledger.resize("a", 3 * GiB));
  EXPECT_EQ(ledger.held("a"), 3 * GiB);
  EXPECT_EQ(ledger.reserved("a"), 2 * GiB);
  EXPECT_EQ(ledger.used(), 5 * GiB);
}

TEST(MemoryLedger, ReleaseDropsHeldAndReservedBytes) {
  Ledger ledger(8 * GiB);
  ASSERT_TRUE(ledger.commit("a", 4 * GiB));
  ASSERT_TRUE(ledger.reserve("a", 2 * GiB));
  ASSERT_TRUE(ledger.reserve("b", 1 * GiB));
  ledger.release("a");
  EXPECT_EQ(ledger.accounted("a"), 0u);
  EXPECT_EQ(ledger.used(), 1 * GiB);
  ledger.release("nobody");
  EXPECT_EQ(ledger.used(), 1 * GiB);
  EXPECT_TRUE(ledger.invariant_ok());
}

TEST(MemoryLedger, HugeRequestsDoNotOverflow) {
  constexpr uint64_t max = std::numeric_limits<uint64_t>::max();
  Ledger ledger(max);
  ASSERT_TRUE(ledger.reserve("a", max - 10));
  EXPECT_FALSE(ledger.reserve("b", 11));
  EXPECT_FALSE(ledger.reserve("a", max));
  EXPECT_TRUE(ledger.reserve("b", 10));
  EXPECT_FALSE(ledger.commit("c", max));
  EXPECT_EQ(ledger.used(), max);
  EXPECT_TRUE(ledger.invariant_ok());
}

// Thousands of interleaved operations over a few ids, as concurrent loads would make them.
TEST(MemoryLedger, RandomOperationsNeverExceedTheBudget) {
  std::mt19937_64 rng(20240601);
  const char* ids[] = {"a", "b", "c", "d", "e"};
  for (int round = 0; round < 200; ++round) {
    Ledger ledger(1 + rng() % (16 * GiB), rng() % (2 * GiB));
    for (int op = 0; op < 200; ++op) {
      std::string id = ids[rng() % 5];
      uint64_t bytes = rng() % (ledger.budget() / 2 + 2);
      uint64_t before = ledger.used();
      uint64_t others = before - ledger.accounted(id);
      bool ok = true;
      switch (rng() % 4) {
        case 0:
          ok = ledger.reserve(id, bytes);
          EXPECT_EQ(ok, before + bytes <= ledger.budget());
          break;
        case 1:
          ok = ledger.commit(id, bytes);
          EXPECT_EQ(ok, others + bytes <= ledger.budget());
          break;
        case 2: ok = ledger.resize(id, bytes); break;
        case 3: ledger.release(id); break;
      }
      if (!ok) {
        EXPECT_EQ(ledger.used(), before);
      }
      ASSERT_TRUE(ledger.invariant_ok()) << "round " << round << " op " << op;
      ASSERT_LE(ledger.used(), ledger.budget());
    }
  }
}

}  // namespace
}  // namespace ebb::memory
