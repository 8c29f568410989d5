// Planner: every choice of docs/design.md's "Planner, in words", the reuse, resident and host-tier
// decisions, the wait queue, and a randomized run of a simulated supervisor.
#include "memory/planner.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <optional>
#include <random>

#include "memory/admission.h"
#include "memory/tier_machine.h"
#include "memory/wait_queue.h"
#include "memory_test_helpers.h"

namespace ebb::memory {
namespace {

using namespace memtest;
using SK = Step::Kind;

Step kv(const std::string& model, uint64_t frees) { return {SK::ReleaseKv, model, frees}; }
Step demote(const std::string& model, uint64_t frees) { return {SK::DemoteToHost, model, frees}; }

class PlannerTest : public ::testing::Test {
 protected:
  Models models;
  Ledger ledger{16 * GiB};

  Plan plan(const std::string& model, uint64_t bytes) { return plan_load({model, bytes}, models, ledger); }
  std::vector<Step> steps(const Plan& p) {
    EXPECT_TRUE(std::holds_alternative<Evict>(p)) << "plan is not Evict, index " << p.index();
    return std::holds_alternative<Evict>(p) ? std::get<Evict>(p).steps : std::vector<Step>{};
  }
  // Three idle ready models of 3 GiB weights + 1 GiB KV, a least recently used, c most.
  void three_ready() {
    ledger = Ledger(12 * GiB);
    place(models, ledger, "a", Tier::Ready, fp(3 * GiB, 1 * GiB), t0 + 1s);
    place(models, ledger, "b", Tier::Ready, fp(3 * GiB, 1 * GiB), t0 + 2s);
    place(models, ledger, "c", Tier::Ready, fp(3 * GiB, 1 * GiB), t0 + 3s);
  }
};

TEST_F(PlannerTest, FitsWhenTheBytesAreFree) {
  place(models, ledger, "a", Tier::Ready, fp(8 * GiB, 0), t0);
  EXPECT_TRUE(std::holds_alternative<Fits>(plan("x", 8 * GiB)));
  EXPECT_TRUE(std::holds_alternative<Evict>(plan("x", 8 * GiB + 1)));
}

TEST_F(PlannerTest, ReleasesTheKvOfTheLeastRecentlyUsedIdleModelFirst) {
  three_ready();
  EXPECT_EQ(steps(plan("x", 1 * GiB)), std::vector<Step>{kv("a", 1 * GiB)});
}

TEST_F(PlannerTest, ReleasesKvLeastRecentlyUsedFirstUntilItFits) {
  three_ready();
  EXPECT_EQ(steps(plan("x", 2 * GiB + 1)), (std::vector<Step>{kv("a", 1 * GiB), kv("b", 1 * GiB), kv("c", 1 * GiB)}));
}

TEST_F(PlannerTest, KvComesOnlyFromIdleUnprotectedReadyModels) {
  place(models, ledger, "busy", Tier::Ready, fp(1 * GiB, 1 * GiB), t0 + 1s, /*busy=*/1);
  place(models, ledger, "pinned", Tier::Ready, fp(1 * GiB, 1 * GiB), t0 + 2s, 0, /*pinned=*/true);
  place(models, ledger, "resident", Tier::Ready, fp(1 * GiB, 1 * GiB), t0 + 3s, 0, false, Policy::Resident);
  place(models, ledger, "warm", Tier::Warm, fp(1 * GiB, 1 * GiB), t0 + 4s);
  place(models, ledger, "loading", Tier::Loading, fp(1 * GiB, 1 * GiB), t0 + 5s);
  place(models, ledger, "self", Tier::Warm, fp(1 * GiB, 1 * GiB), t0 + 6s, 1);
  place(models, ledger, "idle", Tier::Ready, fp(1 * GiB, 1 * GiB), t0 + 7s);
  ASSERT_EQ(ledger.free(), 4 * GiB);
  EXPECT_EQ(steps(plan("self", 5 * GiB)), std::vector<Step>{kv("idle", 1 * GiB)});
}

TEST_F(PlannerTest, KvFreesItsComputeBuffersToo) {
  ledger = Ledger(6 * GiB);
  place(models, ledger, "a", Tier::Ready, fp(3 * GiB, 1 * GiB, 512 * MiB, 256 * MiB), t0);
  EXPECT_EQ(steps(plan("x", 2 * GiB)), std::vector<Step>{kv("a", 1536 * MiB)});
}

TEST_F(PlannerTest, DemotesTheSmallestIdleModelThatCoversTheRest) {
  ledger = Ledger(10 * GiB);
  place(models, ledger, "a", Tier::Warm, fp(5 * GiB, 0), t0 + 1s);  // least recently used
  place(models, ledger, "b", Tier::Warm, fp(2 * GiB, 0), t0 + 2s);
  place(models, ledger, "c", Tier::Warm, fp(3 * GiB, 0), t0 + 3s);
  EXPECT_EQ(steps(plan("x", 2560 * MiB)), std::vector<Step>{demote("c", 3 * GiB)});
}

TEST_F(PlannerTest, SmallestCoveringTieGoesToTheLeastRecentlyUsed) {
  ledger = Ledger(10 * GiB);
  place(models, ledger, "a", Tier::Warm, fp(4 * GiB, 0), t0 + 1s);
  place(models, ledger, "b", Tier::Warm, fp(3 * GiB, 0), t0 + 3s);
  place(models, ledger, "c", Tier::Warm, fp(3 * GiB, 0), t0 + 2s);
  EXPECT_EQ(steps(plan("x", 3 * GiB)), std::vector<Step>{demote("c", 3 * GiB)});
}

// Measured footprints of like models differ by a few pages: that is still a tie.
TEST_F(PlannerTest, SizesWithinAMiBTie) {
  ledger = Ledger(10 * GiB);
  place(models, ledger, "a", Tier::Warm, fp(3 * GiB + 8 * 1024, 0), t0 + 1s);  // least recently used
  place(models, ledger, "b", Tier::Warm, fp(3 * GiB, 0), t0 + 2s);
  place(models, ledger, "c", Tier::Warm, fp(3 * GiB - 512 * 1024, 0), t0 + 3s);
  EXPECT_EQ(steps(plan("x", 2 * GiB)), std::vector<Step>{demote("a", 3 * GiB + 8 * 1024)});
}

TEST_F(PlannerTest, TwoMiBSmallerIsSmaller) {
  ledger = Ledger(10 * GiB);
  place(models, ledger, "a", Tier::Warm, fp(3 * GiB + 8 * 1024, 0), t0 + 1s);  // least recently used
  place(models, ledger, "b", Tier::Warm, fp(3 * GiB, 0), t0 + 2s);
  place(models, ledger, "c", Tier::Warm, fp(3 * GiB - 2 * MiB, 0), t0 + 3s);
  EXPECT_EQ(steps(plan("x", 2 * GiB)), std::vector<Step>{demote("c", 3 * GiB - 2 * MiB)});
}

TEST_F(PlannerTest, SameLastUseTiesGoByName) {
  ledger = Ledger(6 * GiB);
  place(models, ledger, "b", Tier::Warm, fp(3 * GiB, 0), t0);
  place(models, ledger, "a", Tier::Warm, fp(3 * GiB, 0), t0);
  EXPECT_EQ(steps(plan("x", 3 * GiB)), std::vector<Step>{demote("a", 3 * GiB)});
}

TEST_F(PlannerTest, DemotesLeastRecentlyUsedFirstWhenNoSingleModelCovers) {
  ledger = Ledger(6 * GiB);
  place(models, ledger, "c", Tier::Warm, fp(2 * GiB, 0), t0 + 3s);
  place(models, ledger, "a", Tier::Warm, fp(2 * GiB, 0), t0 + 1s);
  place(models, ledger, "b", Tier::Warm, fp(2 * GiB, 0), t0 + 2s);
  EXPECT_EQ(steps(plan("x", 3 * GiB)), (std::vector<Step>{demote("a", 2 * GiB), demote("b", 2 * GiB)}));
}

TEST_F(PlannerTest, ADemotionReplacesTheKvReleasesItMakesUnnecessary) {
  three_ready();
  // All KV (3 GiB) is not enough for 4 GiB; demoting a (the LRU of three equals) is, alone.
  EXPECT_EQ(steps(plan("x", 4 * GiB)), std::vector<Step>{demote("a", 4 * GiB)});
}

TEST_F(PlannerTest, KvReleasesThatAreStillNeededStay) {
  three_ready();
  // Demoting a frees 4 GiB; 0.5 GiB more must come from KV: b's, the least recently used left.
  EXPECT_EQ(steps(plan("x", 4 * GiB + 512 * MiB)), (std::vector<Step>{kv("b", 1 * GiB), demote("a", 4 * GiB)}));
}

TEST_F(PlannerTest, NeverChoosesPinnedResidentBusyLoadingOrTheRequester) {
  ledger = Ledger(10 * GiB);
  place(models, ledger, "pinned", Tier::Warm, fp(2 * GiB, 0), t0 + 1s, 0, true);
  place(models, ledger, "resident", Tier::Ready, fp(2 * GiB, 0), t0 + 2s, 0, false, Policy::Resident);
  place(models, ledger, "busy", Tier::Ready, fp(2 * GiB, 1 * GiB), t0 + 3s, 2);
  place(models, ledger, "loading", Tier::Loading, fp(1 * GiB, 0), t0 + 4s);
  place(models, ledger, "self", Tier::Warm, fp(1 * GiB, 0), t0 + 5s, 1);
  place(models, ledger, "idle", Tier::Warm, fp(1 * GiB, 0), t0 + 6s);
  ASSERT_EQ(ledger.free(), 0u);
  EXPECT_EQ(steps(plan("self", 1 * GiB)), std::vector<Step>{demote("idle", 1 * GiB)});
  Plan p = plan("self", 2 * GiB);  // idle alone is too little: the busy ones hold the rest
  ASSERT_TRUE(std::holds_alternative<Wait>(p));
  EXPECT_EQ(std::get<Wait>(p).busy, (std::vector<Holder>{{"busy", 3 * GiB}, {"loading", 1 * GiB}}));
}

TEST_F(PlannerTest, WaitsWhenBusyModelsHoldTheRest) {
  ledger = Ledger(8 * GiB);
  place(models, ledger, "b", Tier::Ready, fp(4 * GiB, 1 * GiB), t0, 1);
  place(models, ledger, "i", Tier::Warm, fp(2 * GiB, 0), t0);
  Plan p = plan("x", 6 * GiB);
  ASSERT_TRUE(std::holds_alternative<Wait>(p));
  const Wait& w = std::get<Wait>(p);
  EXPECT_EQ(w.needed, 6 * GiB);
  EXPECT_EQ(w.available, 1 * GiB);
  EXPECT_EQ(w.busy, (std::vector<Holder>{{"b", 5 * GiB}}));
  EXPECT_EQ(w.message,
            "model 'x' needs 6.0 GiB but only 1.0 GiB of the 8.0 GiB budget is free; waiting for "
            "busy: b (5.0 GiB)");
}

TEST_F(PlannerTest, DoesNotWaitOnAWarmModelThatIsItselfWaitingForRoom) {
  ledger = Ledger(8 * GiB);
  place(models, ledger, "w", Tier::Warm, fp(6 * GiB, 1 * GiB), t0, /*busy=*/1);
  Plan p = plan("x", 4 * GiB);
  ASSERT_TRUE(std::holds_alternative<Refuse>(p));
  EXPECT_EQ(std::get<Refuse>(p).busy, (std::vector<Holder>{{"w", 6 * GiB}}));
}

TEST_F(PlannerTest, WaitsForBytesThatRunnersAreAlreadyReleasing) {
  ledger = Ledger(8 * GiB);
  place(models, ledger, "gone", Tier::Host, fp(4 * GiB, 0), t0);
  ledger.commit("gone", 4 * GiB);  // its runner has not exited yet
  place(models, ledger, "i", Tier::Warm, fp(2 * GiB, 0), t0);
  Plan p = plan("x", 5 * GiB);
  ASSERT_TRUE(std::holds_alternative<Wait>(p));
  EXPECT_EQ(std::get<Wait>(p).draining, (std::vector<Holder>{{"gone", 4 * GiB}}));
  EXPECT_TRUE(std::get<Wait>(p).busy.empty());
}

TEST_F(PlannerTest, BytesBeingReleasedShrinkTheEvictions) {
  three_ready();
  models["a"].tier = Tier::Warm;  // its KV release is under way: 1 GiB coming back
  EXPECT_EQ(steps(plan("x", 2 * GiB)), std::vector<Step>{kv("b", 1 * GiB)});
}

TEST_F(PlannerTest, WaitsWhileTheModelsOwnRunnerIsExiting) {
  place(models, ledger, "m", Tier::Host, fp(4 * GiB, 0), t0, 1);
  ledger.commit("m", 4 * GiB);
  Plan p = plan("m", 4 * GiB);
  ASSERT_TRUE(std::holds_alternative<Wait>(p));
  EXPECT_EQ(std::get<Wait>(p).draining, (std::vector<Holder>{{"m", 4 * GiB}}));
}

TEST_F(PlannerTest, RefusesWithTheNumbers) {
  const uint64_t b_bytes = 1181116006;  // 1.1 GiB
  ledger = Ledger(2 * GiB + b_bytes + 300 * MiB);
  place(models, ledger, "a", Tier::Ready, fp(2 * GiB, 0), t0, 0, /*pinned=*/true);
  place(models, ledger, "b", Tier::Ready, fp(b_bytes, 0), t0, 1);
  Plan p = plan("x", 1536 * MiB);
  ASSERT_TRUE(std::holds_alternative<Refuse>(p));
  const Refuse& r = std::get<Refuse>(p);
  EXPECT_EQ(r.needed, 1536 * MiB);
  EXPECT_EQ(r.available, 300 * MiB);
  EXPECT_EQ(r.budget, ledger.budget());
  EXPECT_EQ(r.pinned, (std::vector<Holder>{{"a", 2 * GiB}}));
  EXPECT_EQ(r.busy, (std::vector<Holder>{{"b", b_bytes}}));
  EXPECT_EQ(r.message,
            "model 'x' needs 1.5 GiB but only 300 MiB of the 3.4 GiB budget is free; pinned: a "
            "(2.0 GiB); busy: b (1.1 GiB)");
}

TEST_F(PlannerTest, ResidentModelsAreListedAsPinned) {
  ledger = Ledger(4 * GiB);
  place(models, ledger, "r", Tier::Ready, fp(3 * GiB, 0), t0, 0, false, Policy::Resident);
  Plan p = plan("x", 2 * GiB);
  ASSERT_TRUE(std::holds_alternative<Refuse>(p));
  EXPECT_EQ(std::get<Refuse>(p).pinned, (std::vector<Holder>{{"r", 3 * GiB}}));
}

TEST_F(PlannerTest, RefusesALoadLargerThanTheWholeBudget) {
  ledger = Ledger(4 * GiB);
  Plan p = plan("x", 5 * GiB);
  ASSERT_TRUE(std::holds_alternative<Refuse>(p));
  EXPECT_EQ(std::get<Refuse>(p).message,
            "model 'x' needs 5.0 GiB but only 4.0 GiB of the 4.0 GiB budget is free (it is "
            "larger than the whole budget)");
}

TEST_F(PlannerTest, RefuseForATimeoutOrAFullQueueKeepsTheNumbers) {
  ledger = Ledger(8 * GiB);
  place(models, ledger, "b", Tier::Ready, fp(6 * GiB, 0), t0, 1);
  Refuse r = refuse({"x", 4 * GiB}, models, ledger, "the wait queue is full");
  EXPECT_EQ(r.message,
            "model 'x' needs 4.0 GiB but only 2.0 GiB of the 8.0 GiB budget is free; busy: b "
            "(6.0 GiB); the wait queue is full");
}

// ---- a fourth model on a full device, through the machine ------------------------------------

TEST(PlannerWithMachine, ThreeModelsFillTheBudgetAndAFourthEvictsTheRightOne) {
  TierMachine machine(MachineConfig{}, Ledger(16 * GiB, 4 * GiB));  // 12 GiB budget
  const Footprint four = fp(3 * GiB, 1 * GiB);
  for (const char* name : {"a", "b", "c", "d"}) machine.add(name, Policy::KeepAlive, 3 * GiB);
  auto serve = [&](const std::string& name, TimePoint now) {
    machine.on(RequestArrived{name}, now);
    Plan p = plan_load({name, four.total()}, machine.models(), machine.ledger());
    ASSERT_TRUE(std::holds_alternative<Fits>(p));
    ASSERT_TRUE(machine.on(LoadStarted{name, four}, now).ok());
    ASSERT_TRUE(machine.on(LoadSucceeded{name, four}, now).ok());
    machine.on(RequestEnded{name}, now + 1s);
  };
  serve("b", t0);
  serve("a", t0 + 1min);
  serve("c", t0 + 2min);
  machine.on(RequestArrived{"b"}, t0 + 3min);  // b, the oldest load, is used again
  machine.on(RequestEnded{"b"}, t0 + 3min);
  ASSERT_EQ(machine.ledger().free(), 0u);

  machine.on(RequestArrived{"d"}, t0 + 4min);
  Plan p = plan_load({"d", four.total()}, machine.models(), machine.ledger());
  ASSERT_TRUE(std::holds_alternative<Evict>(p));
  EXPECT_EQ(std::get<Evict>(p).steps, std::vector<Step>{demote("a", 4 * GiB)});
  ASSERT_TRUE(machine.on(UnloadRequested{"a"}, t0 + 4min).ok());
  // The planner waits for a's runner to exit before d may reserve.
  EXPECT_TRUE(std::holds_alternative<Wait>(plan_load({"d", four.total()}, machine.models(), machine.ledger())));
  EXPECT_EQ(machine.on(LoadStarted{"d", four}, t0 + 4min).error, Error::NoRoom);
  machine.on(RunnerExited{"a"}, t0 + 4min);
  EXPECT_TRUE(std::holds_alternative<Fits>(plan_load({"d", four.total()}, machine.models(), machine.ledger())));
  EXPECT_TRUE(machine.on(LoadStarted{"d", four}, t0 + 4min).ok());
  EXPECT_EQ(machine.find("a")->tier, Tier::Host);
  EXPECT_EQ(machine.find("b")->tier, Tier::Ready);
  EXPECT_EQ(machine.find("c")->tier, Tier::Ready);
}

TEST(PlannerWithMachine, KvOfTheLeastRecentlyUsedGoesFirst) {
  TierMachine machine(MachineConfig{}, Ledger(12 * GiB));
  const Footprint four = fp(3 * GiB, 1 * GiB);
  for (const char* name : {"a", "b", "c"}) {
    machine.add(name, Policy::KeepAlive);
    machine.on(LoadStarted{name, four}, t0);
  }
  machine.on(LoadSucceeded{"c", four}, t0 + 1s);
  machine.on(LoadSucceeded{"a", four}, t0 + 2s);
  machine.on(LoadSucceeded{"b", four}, t0 + 3s);
  machine.add("small", Policy::KeepAlive);
  machine.on(RequestArrived{"small"}, t0 + 4s);
  Plan p = plan_load({"small", 1 * GiB}, machine.models(), machine.ledger());
  EXPECT_EQ(std::get<Evict>(p).steps, std::vector<Step>{kv("c", 1 * GiB)});
}

// ---- reuse, resident set, host tier ----------------------------------------------------------

TEST(PlanReuse, ALoadedContextAtLeastAsLargeIsReused) {
  ModelState m;
  m.footprint.n_ctx = 4096;
  m.tier = Tier::Ready;
  EXPECT_EQ(plan_reuse(m, 2048), Reuse::Serve);
  EXPECT_EQ(plan_reuse(m, 4096), Reuse::Serve);
  EXPECT_EQ(plan_reuse(m, 4097), Reuse::Reload);
  m.tier = Tier::Loading;
  EXPECT_EQ(plan_reuse(m, 4096), Reuse::Join);
  EXPECT_EQ(plan_reuse(m, 8192), Reuse::Reload);
  m.tier = Tier::Warm;
  EXPECT_EQ(plan_reuse(m, 8192), Reuse::Wake);
  m.tier = Tier::Host;
  EXPECT_EQ(plan_reuse(m, 1), Reuse::Load);
  m.tier = Tier::Cold;
  EXPECT_EQ(plan_reuse(m, 1), Reuse::Load);
  EXPECT_STREQ(to_string(Reuse::Reload), "reload");
}

TEST(ResidentSet, FitsOrFailsWithTheNumbers) {
  EXPECT_EQ(check_resident_set(8 * GiB, {}), std::nullopt);
  EXPECT_EQ(check_resident_set(8 * GiB, {{"a", 4 * GiB}, {"b", 4 * GiB}}), std::nullopt);
  auto error = check_resident_set(8 * GiB, {{"a", 4 * GiB}, {"b", 5 * GiB}});
  ASSERT_TRUE(error);
  EXPECT_EQ(*error,
            "resident models need 9.0 GiB (9663676416 bytes) but the device budget is 8.0 GiB "
            "(8589934592 bytes): a 4.0 GiB, b 5.0 GiB");
  EXPECT_TRUE(check_resident_set(8 * GiB, {{"a", ~0ull}, {"b", 5 * GiB}}));
}

class HostPlanning : public ::testing::Test {
 protected:
  Models models;
  ModelState& host(const std::string& name, uint64_t bytes, TimePoint last_used, Tier tier = Tier::Host) {
    ModelState& m = models[name];
    m.name = name;
    m.tier = tier;
    m.host_bytes = bytes;
    m.host_locked = true;
    m.last_used = last_used;
    return m;
  }
};

TEST_F(HostPlanning, FitsWhenTheHostBudgetHasRoom) {
  host("a", 4 * GiB, t0);
  HostPlan plan = plan_host(10 * GiB, models, "x", 6 * GiB, false);
  EXPECT_TRUE(plan.fits);
  EXPECT_TRUE(plan.to_cold.empty());
  EXPECT_EQ(plan.available, 6 * GiB);
}

TEST_F(HostPlanning, LeastRecentlyUsedHostModelsGoCold) {
  host("a", 2 * GiB, t0 + 2s);
  host("b", 2 * GiB, t0 + 1s);
  host("c", 2 * GiB, t0 + 3s);
  HostPlan plan = plan_host(8 * GiB, models, "x", 5 * GiB, false);
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.to_cold, (std::vector<std::string>{"b", "a"}));
}

TEST_F(HostPlanning, OnlyIdleUnpinnedHostTierModelsGoCold) {
  host("pinned", 2 * GiB, t0).pinned = true;
  host("busy", 2 * GiB, t0).busy = 1;
  host("ready", 2 * GiB, t0, Tier::Ready);  // GPU: locked pages still count
  host("idle", 2 * GiB, t0 + 1s);
  host("x", 2 * GiB, t0);  // the model itself
  HostPlan plan = plan_host(8 * GiB, models, "x", 2 * GiB, false);
  EXPECT_TRUE(plan.fits);
  EXPECT_EQ(plan.to_cold, std::vector<std::string>{"idle"});
  plan = plan_host(8 * GiB, models, "x", 5 * GiB, false);
  EXPECT_FALSE(plan.fits);
  EXPECT_TRUE(plan.to_cold.empty());
  EXPECT_EQ(plan.message,
            "model 'x' needs 5.0 GiB of host memory but only 0 B of the 8.0 GiB host budget is "
            "free, and idle host-tier models hold too little to make room");
}

TEST_F(HostPlanning, OnTheCpuDeviceMappedPagesDoNotCount) {
  host("ready", 4 * GiB, t0, Tier::Ready);
  EXPECT_FALSE(plan_host(4 * GiB, models, "x", 4 * GiB, false).fits);
  EXPECT_TRUE(plan_host(4 * GiB, models, "x", 4 * GiB, true).fits);
}

// ---- wait queue --------------------------------------------------------------------------------

TEST(WaitQueueTest, FifoWithABoundAndADeadline) {
  WaitQueue queue(2, 60s);
  EXPECT_TRUE(queue.push(1, t0));
  EXPECT_TRUE(queue.push(2, t0 + 10s));
  EXPECT_TRUE(queue.full());
  EXPECT_FALSE(queue.push(3, t0 + 10s));  // full: 503
  EXPECT_TRUE(queue.push(1, t0 + 20s));   // already queued: keeps its place and deadline
  EXPECT_EQ(queue.tickets(), (std::vector<WaitQueue::Ticket>{1, 2}));
  EXPECT_EQ(queue.next_deadline(), t0 + 60s);
  EXPECT_TRUE(queue.expire(t0 + 60s - 1ms).empty());
  EXPECT_EQ(queue.expire(t0 + 60s), std::vector<WaitQueue::Ticket>{1});
  EXPECT_EQ(queue.next_deadline(), t0 + 70s);
  EXPECT_TRUE(queue.remove(2));  // admitted, or the client left
  EXPECT_FALSE(queue.remove(2));
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_FALSE(queue.next_deadline());
}

TEST(MemoryBytesText, ReadsLikeTheExamples) {
  EXPECT_EQ(bytes_text(0), "0 B");
  EXPECT_EQ(bytes_text(1023), "1023 B");
  EXPECT_EQ(bytes_text(1536), "1.5 KiB");
  EXPECT_EQ(bytes_text(300 * MiB), "300 MiB");
  EXPECT_EQ(bytes_text(2 * GiB), "2.0 GiB");
  EXPECT_EQ(bytes_text(1288490189), "1.2 GiB");
  EXPECT_EQ(bytes_text(~0ull), "16.0 EiB");
}

// ---- randomized: a simulated supervisor ------------------------------------------------------

// Drives a TierMachine the way the supervisor will: requests arrive, are planned, evictions are
// carried out, runners confirm late, die, time passes, operators pin and unload. After every
// step: the ledger never exceeds its budget, the host budget holds, every model's bytes are
// accounted, and no plan or timer ever chose a pinned, resident or busy model.
struct SimulationStats {
  int fits = 0, evicts = 0, waits = 0, refusals = 0, reloads = 0, queue_full = 0, timeouts = 0;
  int kv_steps = 0, demote_steps = 0, deaths = 0, served = 0;
};

class Simulation {
 public:
  Simulation(uint64_t seed, SimulationStats& stats) : rng_(seed), stats_(stats) {
    MachineConfig config;
    config.timers.kv_idle = std::chrono::minutes(pick(0, 10));
    config.timers.keep_alive = KeepAlive::after(std::chrono::minutes(pick(0, 30)));
    config.timers.host_keep = std::chrono::minutes(pick(0, 90));
    config.host_budget = pick(4, 40) * GiB;
    config.device_is_host_ram = pick(0, 1) == 1;
    machine_ = TierMachine(config, Ledger(pick(8, 24) * GiB, pick(0, 4) * GiB));
    queue_ = WaitQueue(pick(1, 6), std::chrono::seconds(60));
    int count = static_cast<int>(pick(3, 7));
    std::vector<Holder> residents;
    for (int i = 0; i < count; ++i) {
      std::string name = "m" + std::to_string(i);
      Policy policy = pick(0, 3) == 0 ? Policy::OnDemand : Policy::KeepAlive;
      if (i == 0 && pick(0, 1)) policy = Policy::Resident;
      Footprint f =
          fp(pick(1, 10) * GiB / 2, pick(1, 8) * GiB / 4, pick(0, 2) * 128 * MiB, pick(0, 2) * 64 * MiB, 4096);
      machine_.add(name, policy, f.weights);
      sizes_[name] = f;
      f.kv *= 2;
      f.n_ctx = 8192;
      large_[name] = f;
      names_.push_back(name);
      if (policy == Policy::Resident) residents.push_back({name, f.total()});
    }
    if (!check_resident_set(machine_.ledger().budget(), residents)) {
      for (const auto& r : residents) {
        apply(LoadStarted{r.model, sizes_[r.model]}, true);
        apply(LoadSucceeded{r.model, sizes_[r.model]}, true);
      }
    }
  }

  void run(int steps) {
    for (int i = 0; i < steps && !::testing::Test::HasFatalFailure(); ++i) {
      step();
      check();
    }
  }

 private:
  struct Request {
    uint64_t ticket;
    std::string model;
    bool large = false;     // wants n_ctx 8192 instead of 4096
    bool admitted = false;  // being served on a ready instance
  };

  uint64_t pick(uint64_t lo, uint64_t hi) { return lo + rng_() % (hi - lo + 1); }
  const std::string& any_model() { return names_[pick(0, names_.size() - 1)]; }
  const ModelState& state(const std::string& name) { return *machine_.find(name); }

  Outcome apply(const Event& event, bool must_succeed = false) {
    Outcome out = machine_.on(event, now_);
    if (must_succeed) {
      EXPECT_TRUE(out.ok()) << out.message;
    }
    for (const Action& a : out.actions) {
      if (a.kind == Action::Kind::Replan) replan_ = true;
      // Only a reload for a larger context, asked for by the model's own request, stops the
      // runner of a pinned or resident model.
      if (a.kind == Action::Kind::ReleaseKv) {
        EXPECT_NE(state(a.model).policy, Policy::Resident) << a.model;
      }
      if (a.kind == Action::Kind::StopRunner && !reloading_) {
        EXPECT_FALSE(state(a.model).is_protected()) << a.model;
      }
      if (a.kind == Action::Kind::FailRequests) fail_requests(a.model);
    }
    return out;
  }

  // The supervisor answers them with the error; each handler then ends its request.
  void fail_requests(const std::string& model) {
    for (auto it = requests_.begin(); it != requests_.end();) {
      if (it->model == model) {
        queue_.remove(it->ticket);
        it = requests_.erase(it);
        apply(RequestEnded{model}, true);
      } else {
        ++it;
      }
    }
  }

  void step() {
    switch (pick(0, 11)) {
      case 0:
      case 1: {  // a request arrives
        const std::string& model = any_model();
        apply(RequestArrived{model}, true);
        requests_.push_back({next_ticket_++, model, pick(0, 5) == 0});
        admit(requests_.back());
        break;
      }
      case 2: replan_all(); break;
      case 3: {  // a load finishes: mostly well
        std::vector<std::string> loading;
        for (const auto& [name, m] : machine_.models())
          if (m.tier == Tier::Loading) loading.push_back(name);
        if (loading.empty()) break;
        const std::string& model = loading[pick(0, loading.size() - 1)];
        uint64_t roll = pick(0, 9);
        if (roll == 0) {
          apply(LoadFailed{model, "failed"}, true);
        } else if (roll == 1) {
          ++stats_.deaths;
          apply(RunnerDied{model, "died"}, true);
        } else {
          Footprint actual = state(model).footprint;
          actual.baseline += pick(0, 2) * 16 * MiB;  // measured a little more, sometimes
          apply(LoadSucceeded{model, actual});
        }
        break;
      }
      case 4: {  // a served request ends, with Ollama's keep_alive sometimes
        std::vector<size_t> admitted;
        for (size_t i = 0; i < requests_.size(); ++i)
          if (requests_[i].admitted) admitted.push_back(i);
        if (admitted.empty()) break;
        size_t i = admitted[pick(0, admitted.size() - 1)];
        std::optional<KeepAlive> keep_alive;
        switch (pick(0, 4)) {
          case 0: keep_alive = KeepAlive::after(std::chrono::seconds(0)); break;
          case 1: keep_alive = KeepAlive::forever(); break;
          case 2: keep_alive = KeepAlive::after(std::chrono::minutes(pick(1, 20))); break;
          default: break;
        }
        std::string model = requests_[i].model;
        requests_.erase(requests_.begin() + static_cast<std::ptrdiff_t>(i));
        apply(RequestEnded{model, keep_alive}, true);
        break;
      }
      case 5: {  // a waiting client leaves
        for (size_t i = 0; i < requests_.size(); ++i) {
          if (requests_[i].admitted || pick(0, 1)) continue;
          std::string model = requests_[i].model;
          queue_.remove(requests_[i].ticket);
          requests_.erase(requests_.begin() + static_cast<std::ptrdiff_t>(i));
          apply(RequestEnded{model}, true);
          break;
        }
        break;
      }
      case 6:
      case 7: {  // runners confirm what they were told, late
        for (const auto& name : names_) {
          if (pick(0, 1)) continue;
          const ModelState& m = state(name);
          if (m.tier == Tier::Warm)
            apply(KvReleased{name}, true);
          else if (!on_device(m.tier) && machine_.ledger().accounted(name) > 0)
            apply(RunnerExited{name}, true);
        }
        break;
      }
      case 8: {  // time passes
        now_ += std::chrono::seconds(pick(0, 1200));
        apply(Tick{}, true);
        for (auto ticket : queue_.expire(now_)) {
          ++stats_.timeouts;
          end_waiting(ticket);
        }
        break;
      }
      case 9: apply(PinChanged{any_model(), pick(0, 2) == 0}, true); break;
      case 10: {  // operators
        const std::string& model = any_model();
        switch (pick(0, 2)) {
          case 0: apply(UnloadRequested{model, false}); break;
          case 1: apply(UnloadRequested{model, true}); break;
          case 2: apply(KvReleaseRequested{model}); break;
        }
        break;
      }
      case 11: {  // a runner crashes
        const std::string& model = any_model();
        if (on_device(state(model).tier)) {
          ++stats_.deaths;
          apply(RunnerDied{model, "crash"}, true);
        }
        break;
      }
    }
    if (replan_) {
      replan_ = false;
      replan_all();
    }
  }

  void end_waiting(WaitQueue::Ticket ticket) {
    for (auto it = requests_.begin(); it != requests_.end(); ++it) {
      if (it->ticket != ticket) continue;
      std::string model = it->model;
      requests_.erase(it);
      apply(RequestEnded{model}, true);  // answered 503
      return;
    }
  }

  void replan_all() {
    for (size_t i = 0; i < requests_.size(); ++i) {
      if (requests_[i].admitted) continue;
      uint64_t ticket = requests_[i].ticket;
      admit(requests_[i]);
      // admit() may have ended requests; find our place again.
      auto it = std::find_if(requests_.begin(), requests_.end(), [&](const Request& r) { return r.ticket == ticket; });
      if (it == requests_.end())
        --i;
      else
        i = static_cast<size_t>(it - requests_.begin());
    }
  }

  // Asks the admission step for one waiting request and carries it out, as the supervisor does.
  void admit(Request& request) {
    const std::string model = request.model;
    const uint64_t ticket = request.ticket;
    const uint32_t want = (request.large ? large_[model] : sizes_[model]).n_ctx;
    // Once the load is done and nothing runs on the small instance, it may reload larger.
    bool running = std::any_of(requests_.begin(), requests_.end(),
                               [&](const Request& r) { return r.model == model && r.admitted; });
    std::optional<Footprint> measured;
    for (;;) {
      const ModelState& m = state(model);
      Admission step =
          next_admission({m, want, running, measured ? &*measured : nullptr}, machine_.models(), machine_.ledger());
      check_wait_or_refuse(step, model, measured);
      if (std::holds_alternative<AdmitServe>(step)) {
        ++stats_.served;
        request.admitted = true;
        queue_.remove(ticket);
        return;
      }
      if (std::holds_alternative<AdmitJoin>(step)) return;
      if (std::holds_alternative<AdmitAwaitIdle>(step)) {
        if (!queue_.push(ticket, now_)) end_queued(ticket);
        return;
      }
      if (std::holds_alternative<AdmitReload>(step)) {
        ++stats_.reloads;
        reloading_ = true;
        apply(ReloadRequested{model}, true);
        reloading_ = false;
        continue;
      }
      if (const auto* measure = std::get_if<AdmitMeasure>(&step)) {
        // The simulated dry run: the model's footprint at that context.
        measured = measure->num_ctx == large_[model].n_ctx ? large_[model] : sizes_[model];
        EXPECT_EQ(measured->n_ctx, measure->num_ctx);
        continue;
      }
      if (const auto* start = std::get_if<AdmitStart>(&step)) {
        ++stats_.fits;
        EXPECT_LE(start->bytes, machine_.ledger().free());
        Outcome out = apply(LoadStarted{model, *measured});
        EXPECT_TRUE(out.ok()) << "Fits but " << out.message;
        queue_.remove(ticket);
      } else if (const Evict* evict = std::get_if<Evict>(&step)) {
        ++stats_.evicts;
        check_evict(*evict, model, evict_bytes(model, *measured));
        for (const Step& s : evict->steps) {
          if (s.kind == Step::Kind::ReleaseKv) {
            ++stats_.kv_steps;
            apply(KvReleaseRequested{s.model}, true);
          } else {
            ++stats_.demote_steps;
            apply(UnloadRequested{s.model}, true);
          }
        }
        if (!queue_.push(ticket, now_)) end_queued(ticket);
      } else if (std::holds_alternative<Wait>(step)) {
        ++stats_.waits;
        if (!queue_.push(ticket, now_)) end_queued(ticket);
      } else {
        ++stats_.refusals;
        const Refuse& refuse = std::get<Refuse>(step);
        EXPECT_FALSE(refuse.message.empty());
        queue_.remove(ticket);
        end_waiting(ticket);
      }
      return;
    }
  }

  uint64_t evict_bytes(const std::string& model, const Footprint& f) {
    uint64_t held = machine_.ledger().held(model);
    return f.total() - std::min(held, f.total());
  }

  void end_queued(WaitQueue::Ticket ticket) {
    ++stats_.queue_full;
    end_waiting(ticket);
  }

  void check_evict(const Evict& evict, const std::string& model, uint64_t bytes) {
    EXPECT_FALSE(evict.steps.empty());
    uint64_t freed = machine_.ledger().free();
    for (const auto& [name, m] : machine_.models()) {
      uint64_t accounted = machine_.ledger().accounted(name);
      if (accounted > m.device_bytes()) freed += accounted - m.device_bytes();
    }
    for (const Step& s : evict.steps) {
      const ModelState& m = state(s.model);
      EXPECT_NE(s.model, model);
      EXPECT_FALSE(m.pinned) << s.model;
      EXPECT_NE(m.policy, Policy::Resident) << s.model;
      EXPECT_EQ(m.busy, 0) << s.model;
      EXPECT_TRUE(m.tier == Tier::Ready || m.tier == Tier::Warm) << s.model;
      if (s.kind == Step::Kind::ReleaseKv) {
        EXPECT_EQ(m.tier, Tier::Ready);
      }
      freed += s.frees;
    }
    EXPECT_GE(freed, bytes) << "the steps do not make it fit";

    // Carried out and confirmed by the runners, the steps make the load fit.
    TierMachine after = machine_;
    for (const Step& s : evict.steps) {
      if (s.kind == Step::Kind::ReleaseKv)
        after.on(KvReleaseRequested{s.model}, now_);
      else
        after.on(UnloadRequested{s.model}, now_);
    }
    for (const auto& name : names_) {
      after.on(KvReleased{name}, now_);
      if (!on_device(after.find(name)->tier)) after.on(RunnerExited{name}, now_);
    }
    Plan replanned = plan_load({model, bytes}, after.models(), after.ledger());
    EXPECT_TRUE(std::holds_alternative<Fits>(replanned));
  }

  // Refuse only when nothing that may ever come back would make room; wait only when it would.
  void check_wait_or_refuse(const Admission& plan, const std::string& model, const std::optional<Footprint>& measured) {
    if (!measured) return;
    const uint64_t bytes = evict_bytes(model, *measured);
    const Ledger& ledger = machine_.ledger();
    uint64_t reachable = ledger.free();
    bool self_draining = false;
    for (const auto& [name, m] : machine_.models()) {
      uint64_t accounted = ledger.accounted(name);
      uint64_t pending = accounted > m.device_bytes() ? accounted - m.device_bytes() : 0;
      if (name == model) self_draining = pending > 0;
      bool waiting_itself = m.busy > 0 && m.tier == Tier::Warm;
      reachable += (name == model || m.is_protected() || waiting_itself) ? pending : accounted;
    }
    if (std::holds_alternative<Refuse>(plan)) {
      EXPECT_LT(reachable, bytes);
    }
    if (std::holds_alternative<Wait>(plan) && !self_draining) {
      EXPECT_GE(reachable, bytes);
    }
  }

  void check() {
    const Ledger& ledger = machine_.ledger();
    ASSERT_TRUE(ledger.invariant_ok());
    ASSERT_LE(ledger.used(), ledger.budget());
    ASSERT_LE(machine_.host_used(), machine_.config().host_budget);
    std::map<std::string, int> in_flight;
    for (const auto& r : requests_) ++in_flight[r.model];
    for (const auto& [name, m] : machine_.models()) {
      EXPECT_GE(ledger.accounted(name), m.device_bytes()) << name << " is under-accounted";
      EXPECT_EQ(m.busy, in_flight[name]) << name;
      if (m.busy > 0) {
        EXPECT_FALSE(m.kv_release_at) << name;
        EXPECT_FALSE(m.unload_at) << name;
        EXPECT_FALSE(m.host_release_at) << name;
      }
      if (m.tier == Tier::Host) {
        EXPECT_TRUE(m.host_locked) << name;
      }
      if (m.tier == Tier::Cold) {
        EXPECT_FALSE(m.host_locked) << name;
      }
      if (m.is_protected()) {
        EXPECT_FALSE(m.unload_at) << name;
      }
      if (m.policy == Policy::Resident) {
        EXPECT_FALSE(m.kv_release_at) << name;
      }
    }
  }

  std::mt19937_64 rng_;
  SimulationStats& stats_;
  TimePoint now_ = t0;
  TierMachine machine_;
  WaitQueue queue_;
  std::map<std::string, Footprint> sizes_;  // n_ctx 4096
  std::map<std::string, Footprint> large_;  // n_ctx 8192
  std::vector<std::string> names_;
  std::deque<Request> requests_;
  uint64_t next_ticket_ = 1;
  bool replan_ = false;
  bool reloading_ = false;
};

TEST(PlannerProperty, RandomEventSequencesKeepEveryInvariant) {
  SimulationStats stats;
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Simulation sim(seed, stats);
    sim.run(250);
    if (::testing::Test::HasFailure()) break;
  }
  // Every branch was exercised, many times.
  for (int count : {stats.fits, stats.evicts, stats.waits, stats.refusals, stats.reloads, stats.queue_full,
                    stats.timeouts, stats.kv_steps, stats.demote_steps, stats.deaths, stats.served})
    EXPECT_GT(count, 100);
  std::printf(
      "fits %d evicts %d (kv %d, demote %d) waits %d refusals %d reloads %d queue full %d "
      "timeouts %d deaths %d served %d\n",
      stats.fits, stats.evicts, stats.kv_steps, stats.demote_steps, stats.waits, stats.refusals, stats.reloads,
      stats.queue_full, stats.timeouts, stats.deaths, stats.served);
}

}  // namespace
}  // namespace ebb::memory
