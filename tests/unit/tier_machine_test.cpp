// TierMachine: one test per row of docs/design.md's transition table ("Transitions"), then every timer, then the
// events that must be refused.
#include "memory/tier_machine.h"

#include <gtest/gtest.h>

#include "memory_test_helpers.h"

namespace ebb::memory {
namespace {

using namespace memtest;
using K = Action::Kind;
using Kinds = std::vector<Action::Kind>;

class TierMachineTest : public ::testing::Test {
 protected:
  TierMachine machine{MachineConfig{}, Ledger(16 * GiB)};
  Footprint small = fp(4 * GiB, 1 * GiB);  // 5 GiB ready, 4 GiB warm

  void SetUp() override { machine.add("m", Policy::KeepAlive, 4 * GiB); }

  void reset(MachineConfig config, uint64_t total = 16 * GiB) {
    machine = TierMachine(config, Ledger(total));
    machine.add("m", Policy::KeepAlive, 4 * GiB);
  }

  Outcome on(const Event& event, TimePoint now) {
    Outcome out = machine.on(event, now);
    EXPECT_TRUE(machine.ledger().invariant_ok());
    EXPECT_LE(machine.host_used(), machine.config().host_budget);
    return out;
  }

  const ModelState& state(const std::string& name = "m") { return *machine.find(name); }

  // Request arrives, the model loads (from cold, host or warm), stays busy.
  void start_request(const std::string& name, TimePoint now, Footprint f) {
    ASSERT_TRUE(on(RequestArrived{name}, now).ok());
    Tier tier = state(name).tier;
    if (tier == Tier::Cold || tier == Tier::Host || tier == Tier::Warm) {
      ASSERT_TRUE(on(LoadStarted{name, f}, now).ok());
      ASSERT_TRUE(on(LoadSucceeded{name, f}, now).ok());
    }
    ASSERT_EQ(state(name).tier, Tier::Ready);
  }

  // One whole request: arrives at `now`, ends at `now` with the given keep_alive.
  Outcome serve(const std::string& name, TimePoint now, Footprint f,
                std::optional<KeepAlive> keep_alive = std::nullopt) {
    start_request(name, now, f);
    return on(RequestEnded{name, keep_alive}, now);
  }

  // Ready, then unloaded to host and the runner gone.
  void to_host(const std::string& name, TimePoint now) {
    serve(name, now, small);
    ASSERT_TRUE(on(UnloadRequested{name}, now).ok());
    on(RunnerExited{name}, now);
    ASSERT_EQ(state(name).tier, Tier::Host);
  }
};

// ---- transition table, one row each --------------------------------------------------------

TEST_F(TierMachineTest, ColdRequestStartsALoad) {
  ASSERT_TRUE(on(RequestArrived{"m"}, t0).ok());
  EXPECT_EQ(state().busy, 1);
  Outcome out = on(LoadStarted{"m", small}, t0);
  ASSERT_TRUE(out.ok()) << out.message;
  EXPECT_EQ(kinds(out), Kinds{K::SpawnRunner});
  EXPECT_EQ(state().tier, Tier::Loading);
  EXPECT_EQ(machine.ledger().reserved("m"), 5 * GiB);
}

TEST_F(TierMachineTest, ColdPreloadStartsALoadWithoutARequest) {
  ASSERT_TRUE(on(LoadStarted{"m", small}, t0).ok());
  ASSERT_TRUE(on(LoadSucceeded{"m", small}, t0 + 1s).ok());
  EXPECT_EQ(state().tier, Tier::Ready);
  EXPECT_EQ(state().busy, 0);
  EXPECT_EQ(state().unload_at, t0 + 1s + 15min);  // nobody's request will end: clocks start now
  EXPECT_EQ(state().kv_release_at, t0 + 1s + 5min);
}

TEST_F(TierMachineTest, ResidentAtStartLoadsAndArmsNoTimers) {
  machine.add("r", Policy::Resident);
  ASSERT_TRUE(on(LoadStarted{"r", small}, t0).ok());
  ASSERT_TRUE(on(LoadSucceeded{"r", small}, t0).ok());
  EXPECT_EQ(state("r").tier, Tier::Ready);
  EXPECT_FALSE(state("r").kv_release_at);
  EXPECT_FALSE(state("r").unload_at);
}

TEST_F(TierMachineTest, HostRequestLoadsFromLockedRam) {
  to_host("m", t0);
  ASSERT_TRUE(state().host_locked);
  ASSERT_TRUE(on(RequestArrived{"m"}, t0 + 1min).ok());
  Outcome out = on(LoadStarted{"m", small}, t0 + 1min);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(kinds(out), Kinds{K::SpawnRunner});
  EXPECT_EQ(state().tier, Tier::Loading);
  EXPECT_TRUE(state().host_locked);  // the runner loads from the locked pages
}

TEST_F(TierMachineTest, LoadingBecomesReadyWithTheActualBytes) {
  on(RequestArrived{"m"}, t0);
  on(LoadStarted{"m", small}, t0);
  Footprint actual = fp(4 * GiB, 1 * GiB, 300 * MiB, 100 * MiB);
  Outcome out = on(LoadSucceeded{"m", actual}, t0 + 2s);
  ASSERT_TRUE(out.ok()) << out.message;
  EXPECT_EQ(state().tier, Tier::Ready);
  EXPECT_EQ(state().footprint, actual);
  EXPECT_EQ(machine.ledger().held("m"), actual.total());
  EXPECT_EQ(machine.ledger().reserved("m"), 0u);
  EXPECT_FALSE(state().unload_at);  // a request is in flight
}

TEST_F(TierMachineTest, LoadFailureGoesColdAndFailsTheWaitingClients) {
  on(RequestArrived{"m"}, t0);
  on(LoadStarted{"m", small}, t0);
  Outcome out = on(LoadFailed{"m", "bad tensor"}, t0 + 1s);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(kinds(out), (Kinds{K::KillRunner, K::FailRequests}));
  EXPECT_EQ(out.actions[1].message, "bad tensor");
  EXPECT_EQ(state().tier, Tier::Cold);
  EXPECT_EQ(state().last_error, "bad tensor");
  // The bytes stay accounted until the killed runner is gone.
  EXPECT_EQ(machine.ledger().accounted("m"), 5 * GiB);
  out = on(RunnerExited{"m"}, t0 + 2s);
  EXPECT_EQ(machine.ledger().accounted("m"), 0u);
  EXPECT_TRUE(has_action(out, K::Replan));
}

TEST_F(TierMachineTest, LoadFailureFromHostUnlocksTheFile) {
  to_host("m", t0);
  on(RequestArrived{"m"}, t0);
  on(LoadStarted{"m", small}, t0);
  Outcome out = on(LoadFailed{"m", "oom"}, t0);
  EXPECT_EQ(kinds(out), (Kinds{K::KillRunner, K::FailRequests, K::UnlockHost}));
  EXPECT_FALSE(state().host_locked);
}

TEST_F(TierMachineTest, RunnerDeathWhileLoadingGoesColdAndFreesTheBytesAtOnce) {
  on(RequestArrived{"m"}, t0);
  on(LoadStarted{"m", small}, t0);
  Outcome out = on(RunnerDied{"m", "signal 9"}, t0 + 1s);
  EXPECT_EQ(kinds(out), (Kinds{K::FailRequests, K::Replan}));
  EXPECT_EQ(state().tier, Tier::Cold);
  EXPECT_EQ(machine.ledger().used(), 0u);
}

TEST_F(TierMachineTest, LastRequestEndArmsTheTimers) {
  start_request("m", t0, small);
  on(RequestArrived{"m"}, t0 + 1s);
  Outcome out = on(RequestEnded{"m"}, t0 + 2s);
  EXPECT_FALSE(has_action(out, K::Replan));  // still busy
  EXPECT_FALSE(state().kv_release_at);
  EXPECT_FALSE(state().unload_at);
  out = on(RequestEnded{"m"}, t0 + 3s);
  EXPECT_EQ(kinds(out), Kinds{K::Replan});  // loads waiting on a busy model may go on
  EXPECT_EQ(state().tier, Tier::Ready);
  EXPECT_EQ(state().kv_release_at, t0 + 3s + 5min);
  EXPECT_EQ(state().unload_at, t0 + 3s + 15min);
  EXPECT_EQ(state().last_used, t0 + 3s);
}

TEST_F(TierMachineTest, ResidentLastRequestEndArmsNoTimers) {
  machine.add("r", Policy::Resident);
  serve("r", t0, small, KeepAlive::after(0s));  // a per-request keep_alive does not demote it
  EXPECT_EQ(state("r").tier, Tier::Ready);
  EXPECT_FALSE(state("r").kv_release_at);
  EXPECT_FALSE(state("r").unload_at);
  EXPECT_TRUE(on(Tick{}, t0 + 1000h).actions.empty());
  EXPECT_EQ(state("r").tier, Tier::Ready);
}

TEST_F(TierMachineTest, KvIdleExpiryMovesReadyToWarm) {
  serve("m", t0, small);
  EXPECT_TRUE(on(Tick{}, t0 + 5min - 1ms).actions.empty());
  Outcome out = on(Tick{}, t0 + 5min);
  EXPECT_EQ(kinds(out), Kinds{K::ReleaseKv});
  EXPECT_EQ(state().tier, Tier::Warm);
  EXPECT_FALSE(state().kv_release_at);
  EXPECT_EQ(state().unload_at, t0 + 15min);
  // The bytes come back when the runner confirms.
  EXPECT_EQ(machine.ledger().used(), 5 * GiB);
  out = on(KvReleased{"m"}, t0 + 5min);
  EXPECT_EQ(machine.ledger().used(), 4 * GiB);
  EXPECT_EQ(kinds(out), Kinds{K::Replan});
}

TEST_F(TierMachineTest, ReleaseKvRequestMovesReadyToWarm) {
  serve("m", t0, small);
  Outcome out = on(KvReleaseRequested{"m"}, t0 + 1s);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(kinds(out), Kinds{K::ReleaseKv});
  EXPECT_EQ(state().tier, Tier::Warm);
  EXPECT_TRUE(on(KvReleaseRequested{"m"}, t0 + 2s).ok());  // already warm: nothing to do
}

TEST_F(TierMachineTest, WarmRequestRecreatesTheContext) {
  serve("m", t0, small);
  on(KvReleaseRequested{"m"}, t0);
  on(KvReleased{"m"}, t0);
  ASSERT_TRUE(on(RequestArrived{"m"}, t0 + 1min).ok());
  Footprint bigger = fp(4 * GiB, 2 * GiB, 0, 0, 8192);
  Outcome out = on(LoadStarted{"m", bigger}, t0 + 1min);
  ASSERT_TRUE(out.ok()) << out.message;
  EXPECT_EQ(kinds(out), Kinds{K::CreateContext});
  EXPECT_EQ(machine.ledger().held("m"), 4 * GiB);      // the weights stay
  EXPECT_EQ(machine.ledger().reserved("m"), 2 * GiB);  // only the new context is reserved
  ASSERT_TRUE(on(LoadSucceeded{"m", bigger}, t0 + 1min).ok());
  EXPECT_EQ(state().tier, Tier::Ready);
  EXPECT_EQ(machine.ledger().held("m"), 6 * GiB);
}

TEST_F(TierMachineTest, KeepAliveExpiryUnloadsToHost) {
  serve("m", t0, small);
  on(Tick{}, t0 + 5min);  // KV first
  on(KvReleased{"m"}, t0 + 5min);
  EXPECT_TRUE(on(Tick{}, t0 + 15min - 1ms).actions.empty());
  Outcome out = on(Tick{}, t0 + 15min);
  EXPECT_EQ(kinds(out), (Kinds{K::StopRunner, K::LockHost}));
  EXPECT_EQ(state().tier, Tier::Host);
  EXPECT_TRUE(state().host_locked);
  EXPECT_FALSE(state().unload_at);
  EXPECT_EQ(state().host_release_at, t0 + 15min + 1h);
  EXPECT_EQ(machine.ledger().used(), 4 * GiB);  // until the runner has exited
  out = on(RunnerExited{"m"}, t0 + 15min + 1s);
  EXPECT_EQ(machine.ledger().used(), 0u);
  EXPECT_EQ(kinds(out), Kinds{K::Replan});
  EXPECT_EQ(machine.host_used(), 4 * GiB);
}

TEST_F(TierMachineTest, KeepAliveZeroUnloadsRightAfterTheRequest) {
  Outcome out = serve("m", t0, small, KeepAlive::after(0s));
  EXPECT_EQ(kinds(out), (Kinds{K::StopRunner, K::LockHost, K::Replan}));
  EXPECT_EQ(state().tier, Tier::Host);
}

TEST_F(TierMachineTest, UnloadRequestMovesReadyToHost) {
  serve("m", t0, small);
  Outcome out = on(UnloadRequested{"m"}, t0 + 1s);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(kinds(out), (Kinds{K::StopRunner, K::LockHost}));
  EXPECT_EQ(state().tier, Tier::Host);
}

TEST_F(TierMachineTest, UnloadRequestMovesWarmToHost) {
  serve("m", t0, small);
  on(KvReleaseRequested{"m"}, t0);
  Outcome out = on(UnloadRequested{"m"}, t0 + 1s);
  EXPECT_EQ(kinds(out), (Kinds{K::StopRunner, K::LockHost}));
  EXPECT_EQ(state().tier, Tier::Host);
  on(KvReleased{"m"}, t0 + 1s);  // late: RunnerExited settles the bytes
  EXPECT_EQ(machine.ledger().used(), 5 * GiB);
  on(RunnerExited{"m"}, t0 + 2s);
  EXPECT_EQ(machine.ledger().used(), 0u);
}

TEST_F(TierMachineTest, OnDemandUnloadsToHostAfterEachRequest) {
  machine.add("d", Policy::OnDemand, 1 * GiB);
  start_request("d", t0, small);
  on(RequestArrived{"d"}, t0);
  EXPECT_TRUE(on(RequestEnded{"d"}, t0 + 1s).actions.empty());  // one still in flight
  Outcome out = on(RequestEnded{"d"}, t0 + 2s);
  EXPECT_EQ(kinds(out), (Kinds{K::StopRunner, K::LockHost, K::Replan}));
  EXPECT_EQ(state("d").tier, Tier::Host);
  EXPECT_EQ(state("d").host_release_at, t0 + 2s + 1h);
}

TEST_F(TierMachineTest, HostKeepExpirySendsAHostModelCold) {
  to_host("m", t0);
  EXPECT_TRUE(on(Tick{}, t0 + 1h - 1ms).actions.empty());
  Outcome out = on(Tick{}, t0 + 1h);
  EXPECT_EQ(kinds(out), Kinds{K::UnlockHost});
  EXPECT_EQ(state().tier, Tier::Cold);
  EXPECT_FALSE(state().host_locked);
  EXPECT_EQ(machine.host_used(), 0u);
}

TEST_F(TierMachineTest, UnloadToColdSendsAHostModelCold) {
  to_host("m", t0);
  Outcome out = on(UnloadRequested{"m", /*to_cold=*/true}, t0 + 1s);
  EXPECT_EQ(kinds(out), Kinds{K::UnlockHost});
  EXPECT_EQ(state().tier, Tier::Cold);
}

TEST_F(TierMachineTest, UnloadToColdFromTheDevice) {
  to_host("m", t0);
  serve("m", t0 + 1min, small);  // loaded from the host tier: the file is locked
  Outcome out = on(UnloadRequested{"m", /*to_cold=*/true}, t0 + 2min);
  EXPECT_EQ(kinds(out), (Kinds{K::StopRunner, K::UnlockHost}));
  EXPECT_EQ(state().tier, Tier::Cold);
  on(RunnerExited{"m"}, t0 + 2min);
  EXPECT_EQ(machine.ledger().used(), 0u);
}

TEST_F(TierMachineTest, HostBudgetFullSendsLeastRecentlyUsedHostModelsCold) {
  MachineConfig config;
  config.host_budget = 10 * GiB;
  reset(config);
  machine.add("a", Policy::KeepAlive, 4 * GiB);
  machine.add("b", Policy::KeepAlive, 4 * GiB);
  machine.add("c", Policy::KeepAlive, 4 * GiB);
  to_host("b", t0 + 2s);
  to_host("a", t0 + 1s);  // a is the least recently used
  EXPECT_EQ(machine.host_used(), 8 * GiB);
  serve("c", t0 + 3s, small);
  Outcome out = on(UnloadRequested{"c"}, t0 + 4s);
  EXPECT_EQ(out.actions,
            (std::vector<Action>{{K::StopRunner, "c", ""}, {K::UnlockHost, "a", ""}, {K::LockHost, "c", ""}}));
  EXPECT_EQ(state("a").tier, Tier::Cold);
  EXPECT_EQ(state("b").tier, Tier::Host);
  EXPECT_EQ(state("c").tier, Tier::Host);
  EXPECT_EQ(machine.host_used(), 8 * GiB);
}

TEST_F(TierMachineTest, HostBudgetWithoutRoomSendsTheModelItselfCold) {
  MachineConfig config;
  config.host_budget = 6 * GiB;
  reset(config);
  machine.add("a", Policy::KeepAlive, 4 * GiB);
  machine.add("p", Policy::KeepAlive, 4 * GiB);
  to_host("p", t0);
  on(PinChanged{"p", true}, t0);  // a pinned host model does not make room
  serve("a", t0 + 1s, small);
  Outcome out = on(UnloadRequested{"a"}, t0 + 2s);
  EXPECT_EQ(kinds(out), Kinds{K::StopRunner});
  EXPECT_EQ(state("a").tier, Tier::Cold);
  EXPECT_FALSE(state("a").host_locked);
  EXPECT_EQ(state("p").tier, Tier::Host);
}

TEST_F(TierMachineTest, RunnerDeathOnTheDeviceGoesColdAndFreesTheBytes) {
  for (Tier tier : {Tier::Loading, Tier::Ready, Tier::Warm}) {
    SCOPED_TRACE(to_string(tier));
    reset({});
    to_host("m", t0);  // locked, so the death also unlocks
    on(RequestArrived{"m"}, t0);
    on(LoadStarted{"m", small}, t0);
    if (tier != Tier::Loading) on(LoadSucceeded{"m", small}, t0);
    if (tier == Tier::Warm) {
      on(RequestEnded{"m"}, t0);
      on(KvReleaseRequested{"m"}, t0);
      on(RequestArrived{"m"}, t0);  // a request waiting on the warm model
    }
    ASSERT_EQ(state().tier, tier);
    Outcome out = on(RunnerDied{"m", "segfault"}, t0 + 1s);
    EXPECT_EQ(kinds(out), (Kinds{K::FailRequests, K::UnlockHost, K::Replan}));
    EXPECT_EQ(state().tier, Tier::Cold);
    EXPECT_EQ(state().last_error, "segfault");
    EXPECT_EQ(machine.ledger().used(), 0u);
  }
}

TEST_F(TierMachineTest, RequestArrivalCancelsTheTimers) {
  serve("m", t0, small);
  ASSERT_TRUE(state().kv_release_at && state().unload_at);
  on(RequestArrived{"m"}, t0 + 1min);
  EXPECT_FALSE(state().kv_release_at);
  EXPECT_FALSE(state().unload_at);
  EXPECT_TRUE(on(Tick{}, t0 + 10h).actions.empty());
  EXPECT_EQ(state().tier, Tier::Ready);
}

TEST_F(TierMachineTest, RequestArrivalCancelsTheTimersOfAWarmModel) {
  serve("m", t0, small);
  on(Tick{}, t0 + 5min);
  ASSERT_EQ(state().tier, Tier::Warm);
  on(RequestArrived{"m"}, t0 + 6min);
  EXPECT_FALSE(state().unload_at);
  EXPECT_TRUE(on(Tick{}, t0 + 10h).actions.empty());
}

TEST_F(TierMachineTest, RequestArrivalCancelsHostKeep) {
  to_host("m", t0);
  ASSERT_TRUE(state().host_release_at);
  on(RequestArrived{"m"}, t0 + 1min);
  EXPECT_FALSE(state().host_release_at);
  EXPECT_TRUE(on(Tick{}, t0 + 10h).actions.empty());
  EXPECT_EQ(state().tier, Tier::Host);
}

// ---- timers --------------------------------------------------------------------------------

TEST_F(TierMachineTest, KvIdleFiresBeforeKeepAlive) {
  serve("m", t0, small);
  EXPECT_EQ(kinds(on(Tick{}, t0 + 5min)), Kinds{K::ReleaseKv});
  EXPECT_EQ(kinds(on(Tick{}, t0 + 15min)), (Kinds{K::StopRunner, K::LockHost}));
}

TEST_F(TierMachineTest, ATickLongAfterBothTimersUnloadsOnce) {
  serve("m", t0, small);
  EXPECT_EQ(kinds(on(Tick{}, t0 + 2h)), (Kinds{K::StopRunner, K::LockHost}));
  EXPECT_EQ(state().tier, Tier::Host);
  EXPECT_EQ(state().host_release_at, t0 + 2h + 1h);
}

TEST_F(TierMachineTest, PerRequestKeepAliveShorterThanKvIdle) {
  serve("m", t0, small, KeepAlive::after(1min));
  EXPECT_EQ(state().keep_alive, KeepAlive::after(1min));
  EXPECT_EQ(state().unload_at, t0 + 1min);
  EXPECT_EQ(kinds(on(Tick{}, t0 + 1min)), (Kinds{K::StopRunner, K::LockHost}));
}

TEST_F(TierMachineTest, PerRequestKeepAliveLongerThanTheDefault) {
  serve("m", t0, small, KeepAlive::after(2h));
  EXPECT_EQ(state().unload_at, t0 + 2h);
  on(Tick{}, t0 + 1h);
  EXPECT_EQ(state().tier, Tier::Warm);  // kv_idle still applies
}

TEST_F(TierMachineTest, TheNextRequestWithoutKeepAliveUsesTheDefaultAgain) {
  serve("m", t0, small, KeepAlive::after(2h));
  serve("m", t0 + 1min, small);
  EXPECT_EQ(state().unload_at, t0 + 1min + 15min);
}

TEST_F(TierMachineTest, TheLastRequestToEndSetsTheKeepAlive) {
  start_request("m", t0, small);
  on(RequestArrived{"m"}, t0);
  on(RequestEnded{"m", KeepAlive::after(2h)}, t0 + 1s);
  on(RequestEnded{"m", KeepAlive::after(0s)}, t0 + 2s);
  EXPECT_EQ(state().tier, Tier::Host);
}

TEST_F(TierMachineTest, NegativeKeepAliveKeepsTheWeightsForeverButReleasesKv) {
  serve("m", t0, small, KeepAlive::forever());
  EXPECT_FALSE(state().unload_at);
  EXPECT_EQ(kinds(on(Tick{}, t0 + 5min)), Kinds{K::ReleaseKv});
  EXPECT_TRUE(on(Tick{}, t0 + 1000h).actions.empty());
  EXPECT_EQ(state().tier, Tier::Warm);
}

TEST_F(TierMachineTest, ForeverAsTheConfiguredDefault) {
  MachineConfig config;
  config.timers.keep_alive = KeepAlive::forever();
  reset(config);
  serve("m", t0, small);
  EXPECT_FALSE(state().unload_at);
  EXPECT_EQ(state().kv_release_at, t0 + 5min);
}

TEST_F(TierMachineTest, OnDemandWithAPerRequestKeepAliveStays) {
  machine.add("d", Policy::OnDemand);
  serve("d", t0, small, KeepAlive::after(10min));
  EXPECT_EQ(state("d").tier, Tier::Ready);
  EXPECT_EQ(state("d").unload_at, t0 + 10min);
}

TEST_F(TierMachineTest, ResidentNeverReleasesKvNorUnloads) {
  machine.add("r", Policy::Resident);
  serve("r", t0, small);
  EXPECT_EQ(on(KvReleaseRequested{"r"}, t0).error, Error::Protected);
  EXPECT_EQ(on(UnloadRequested{"r"}, t0).error, Error::Protected);
  EXPECT_EQ(on(UnloadRequested{"r", true}, t0).error, Error::Protected);
  EXPECT_EQ(state("r").tier, Tier::Ready);
}

TEST_F(TierMachineTest, HostKeepRestartsWhenARequestEndsWithoutALoad) {
  to_host("m", t0);
  on(RequestArrived{"m"}, t0 + 10min);  // e.g. refused with 503 before it loaded
  on(RequestEnded{"m"}, t0 + 11min);
  EXPECT_EQ(state().host_release_at, t0 + 11min + 1h);
}

TEST_F(TierMachineTest, ZeroKvIdleReleasesRightAfterTheRequest) {
  MachineConfig config;
  config.timers.kv_idle = 0s;
  reset(config);
  Outcome out = serve("m", t0, small);
  EXPECT_EQ(kinds(out), (Kinds{K::ReleaseKv, K::Replan}));
  EXPECT_EQ(state().tier, Tier::Warm);
}

TEST_F(TierMachineTest, NegativeKvIdleAndHostKeepDisableThoseTimers) {
  MachineConfig config;
  config.timers.kv_idle = -1ms;
  config.timers.host_keep = -1ms;
  reset(config);
  serve("m", t0, small);
  EXPECT_FALSE(state().kv_release_at);
  on(Tick{}, t0 + 15min);
  EXPECT_EQ(state().tier, Tier::Host);
  EXPECT_FALSE(state().host_release_at);
  EXPECT_TRUE(on(Tick{}, t0 + 1000h).actions.empty());
}

TEST_F(TierMachineTest, ZeroHostKeepSkipsTheHostTier) {
  MachineConfig config;
  config.timers.host_keep = 0s;
  reset(config);
  Outcome out = serve("m", t0, small, KeepAlive::after(0s));
  EXPECT_EQ(kinds(out), (Kinds{K::StopRunner, K::Replan}));
  EXPECT_EQ(state().tier, Tier::Cold);
  EXPECT_FALSE(state().host_locked);
}

TEST_F(TierMachineTest, PinnedKeepsItsWeightsButKvIdleApplies) {
  serve("m", t0, small);
  ASSERT_TRUE(on(PinChanged{"m", true}, t0).ok());
  EXPECT_FALSE(state().unload_at);
  EXPECT_EQ(kinds(on(Tick{}, t0 + 10h)), Kinds{K::ReleaseKv});
  EXPECT_EQ(state().tier, Tier::Warm);
  EXPECT_EQ(on(UnloadRequested{"m"}, t0 + 10h).error, Error::Protected);
  on(KvReleased{"m"}, t0 + 10h);
  serve("m", t0 + 11h, small, KeepAlive::after(0s));  // a keep_alive 0 does not demote it
  EXPECT_EQ(state().tier, Tier::Ready);
}

TEST_F(TierMachineTest, UnpinningStartsTheKeepAliveClock) {
  serve("m", t0, small);
  on(PinChanged{"m", true}, t0);
  on(PinChanged{"m", false}, t0 + 1h);
  EXPECT_EQ(state().unload_at, t0 + 1h + 15min);
}

TEST_F(TierMachineTest, PinnedHostModelStaysLocked) {
  to_host("m", t0);
  on(PinChanged{"m", true}, t0);
  EXPECT_FALSE(state().host_release_at);
  EXPECT_TRUE(on(Tick{}, t0 + 100h).actions.empty());
  on(PinChanged{"m", false}, t0 + 100h);
  EXPECT_EQ(state().host_release_at, t0 + 101h);
}

TEST_F(TierMachineTest, NextDeadlineIsTheEarliestTimer) {
  EXPECT_FALSE(machine.next_deadline());
  machine.add("n", Policy::KeepAlive);
  serve("m", t0, small);
  serve("n", t0 + 1min, small, KeepAlive::after(2min));
  EXPECT_EQ(machine.next_deadline(), t0 + 3min);  // n's keep_alive
  on(Tick{}, t0 + 3min);
  EXPECT_EQ(machine.next_deadline(), t0 + 5min);  // m's kv_idle
}

TEST_F(TierMachineTest, AHugeKeepAliveDoesNotOverflowTheClock) {
  serve("m", t0, small, KeepAlive::after(Duration::max()));
  ASSERT_TRUE(state().unload_at);
  EXPECT_GT(*state().unload_at, t0 + 24h * 365 * 99);
  EXPECT_TRUE(on(Tick{}, t0 + 24h * 365 * 50).actions.size() == 1);  // only the KV went
}

TEST_F(TierMachineTest, TickWithNothingDueDoesNothing) {
  serve("m", t0, small);
  EXPECT_TRUE(on(Tick{}, t0 + 1min).actions.empty());
  EXPECT_TRUE(on(Tick{}, t0 - 1h).actions.empty());  // a clock going back changes nothing
}

// ---- refused events --------------------------------------------------------------------------

TEST_F(TierMachineTest, UnknownModelsAreAnError) {
  std::vector<Event> events = {RequestArrived{"x"},       RequestEnded{"x", {}}, LoadStarted{"x", small},
                               LoadSucceeded{"x", small}, LoadFailed{"x", ""},   KvReleaseRequested{"x"},
                               KvReleased{"x"},           UnloadRequested{"x"},  ReloadRequested{"x"},
                               RunnerExited{"x"},         RunnerDied{"x", ""},   PinChanged{"x", true}};
  for (const auto& event : events) {
    Outcome out = on(event, t0);
    EXPECT_EQ(out.error, Error::UnknownModel);
    EXPECT_TRUE(out.actions.empty());
  }
}

TEST_F(TierMachineTest, LoadResultsOutsideLoadingAreRefused) {
  EXPECT_EQ(on(LoadSucceeded{"m", small}, t0).error, Error::InvalidTransition);
  EXPECT_EQ(on(LoadFailed{"m", "x"}, t0).error, Error::InvalidTransition);
  serve("m", t0, small);
  EXPECT_EQ(on(LoadSucceeded{"m", small}, t0).error, Error::InvalidTransition);
  EXPECT_EQ(state().tier, Tier::Ready);
  EXPECT_EQ(machine.ledger().used(), 5 * GiB);
}

TEST_F(TierMachineTest, LoadStartedTwiceOrWhenReadyIsRefused) {
  on(LoadStarted{"m", small}, t0);
  EXPECT_EQ(on(LoadStarted{"m", small}, t0).error, Error::InvalidTransition);
  EXPECT_EQ(machine.ledger().used(), 5 * GiB);
  on(LoadSucceeded{"m", small}, t0);
  EXPECT_EQ(on(LoadStarted{"m", small}, t0).error, Error::InvalidTransition);
}

TEST_F(TierMachineTest, RequestEndedWithoutARequestIsRefused) {
  Outcome out = on(RequestEnded{"m"}, t0);
  EXPECT_EQ(out.error, Error::InvalidTransition);
  EXPECT_EQ(state().busy, 0);
}

TEST_F(TierMachineTest, BusyModelsAreNotUnloadedNorReleased) {
  start_request("m", t0, small);
  EXPECT_EQ(on(UnloadRequested{"m"}, t0).error, Error::Busy);
  EXPECT_EQ(on(UnloadRequested{"m", true}, t0).error, Error::Busy);
  EXPECT_EQ(on(KvReleaseRequested{"m"}, t0).error, Error::Busy);
  EXPECT_EQ(state().tier, Tier::Ready);
}

TEST_F(TierMachineTest, LoadingModelsAreNotUnloadedNorReleased) {
  on(LoadStarted{"m", small}, t0);
  EXPECT_EQ(on(UnloadRequested{"m"}, t0).error, Error::InvalidTransition);
  EXPECT_EQ(on(KvReleaseRequested{"m"}, t0).error, Error::InvalidTransition);
  EXPECT_EQ(on(ReloadRequested{"m"}, t0).error, Error::InvalidTransition);
}

TEST_F(TierMachineTest, UnloadingAColdOrHostModelIsANoOp) {
  EXPECT_TRUE(on(UnloadRequested{"m"}, t0).ok());
  EXPECT_TRUE(on(UnloadRequested{"m", true}, t0).ok());
  to_host("m", t0);
  Outcome out = on(UnloadRequested{"m"}, t0);
  EXPECT_TRUE(out.ok());
  EXPECT_TRUE(out.actions.empty());
  EXPECT_EQ(state().tier, Tier::Host);
}

TEST_F(TierMachineTest, ReleaseKvOfAModelOffTheDeviceIsRefused) {
  EXPECT_EQ(on(KvReleaseRequested{"m"}, t0).error, Error::InvalidTransition);
}

TEST_F(TierMachineTest, LoadWaitsUntilThePreviousRunnerHasExited) {
  serve("m", t0, small);
  on(UnloadRequested{"m"}, t0);
  on(RequestArrived{"m"}, t0 + 1s);
  Outcome out = on(LoadStarted{"m", small}, t0 + 1s);
  EXPECT_EQ(out.error, Error::Draining);
  EXPECT_EQ(state().tier, Tier::Host);
  on(RunnerExited{"m"}, t0 + 2s);
  EXPECT_TRUE(on(LoadStarted{"m", small}, t0 + 2s).ok());
}

TEST_F(TierMachineTest, WakeWaitsUntilTheKvIsReleased) {
  serve("m", t0, small);
  on(KvReleaseRequested{"m"}, t0);
  on(RequestArrived{"m"}, t0);
  EXPECT_EQ(on(LoadStarted{"m", small}, t0).error, Error::Draining);
  on(KvReleased{"m"}, t0);
  EXPECT_TRUE(on(LoadStarted{"m", small}, t0).ok());
}

TEST_F(TierMachineTest, LoadWithoutRoomIsRefusedAndChangesNothing) {
  reset({}, 4 * GiB);
  on(RequestArrived{"m"}, t0);
  Outcome out = on(LoadStarted{"m", small}, t0);
  EXPECT_EQ(out.error, Error::NoRoom);
  EXPECT_EQ(out.message, "model 'm' needs 5.0 GiB but only 4.0 GiB of the 4.0 GiB budget is free");
  EXPECT_TRUE(out.actions.empty());
  EXPECT_EQ(state().tier, Tier::Cold);
  EXPECT_EQ(machine.ledger().used(), 0u);
}

TEST_F(TierMachineTest, ALoadThatMeasuresMoreThanFitsFails) {
  reset({}, 6 * GiB);
  on(RequestArrived{"m"}, t0);
  on(LoadStarted{"m", small}, t0);
  Outcome out = on(LoadSucceeded{"m", fp(4 * GiB, 3 * GiB)}, t0);
  EXPECT_EQ(out.error, Error::NoRoom);
  EXPECT_EQ(kinds(out), (Kinds{K::KillRunner, K::FailRequests}));
  EXPECT_EQ(state().tier, Tier::Cold);
  EXPECT_EQ(machine.ledger().used(), 5 * GiB);  // until the runner is gone
  on(RunnerExited{"m"}, t0);
  EXPECT_EQ(machine.ledger().used(), 0u);
}

TEST_F(TierMachineTest, ALoadThatMeasuresALittleMoreStillFits) {
  on(RequestArrived{"m"}, t0);
  on(LoadStarted{"m", small}, t0);
  EXPECT_TRUE(on(LoadSucceeded{"m", fp(4 * GiB, 1 * GiB, 0, 50 * MiB)}, t0).ok());
  EXPECT_EQ(machine.ledger().used(), 5 * GiB + 50 * MiB);
}

TEST_F(TierMachineTest, RunnerExitOnTheDeviceIsADeath) {
  serve("m", t0, small);
  Outcome out = on(RunnerExited{"m"}, t0);
  EXPECT_TRUE(has_action(out, K::FailRequests));
  EXPECT_EQ(state().tier, Tier::Cold);
  EXPECT_EQ(machine.ledger().used(), 0u);
}

TEST_F(TierMachineTest, ADeathOffTheDeviceOnlySettlesTheBytes) {
  serve("m", t0, small);
  on(UnloadRequested{"m"}, t0);
  Outcome out = on(RunnerDied{"m", "killed"}, t0);
  EXPECT_EQ(kinds(out), Kinds{K::Replan});
  EXPECT_EQ(state().tier, Tier::Host);
  EXPECT_EQ(machine.ledger().used(), 0u);
}

TEST_F(TierMachineTest, ReloadForALargerContextGoesThroughHost) {
  start_request("m", t0, small);
  // A request wants 8192; nothing runs on the old instance any more.
  Outcome out = on(ReloadRequested{"m"}, t0);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(kinds(out), (Kinds{K::StopRunner, K::LockHost}));
  EXPECT_EQ(state().tier, Tier::Host);
  EXPECT_FALSE(state().host_release_at);  // the request is still in flight
  on(RunnerExited{"m"}, t0);
  Footprint bigger = fp(4 * GiB, 2 * GiB, 0, 0, 8192);
  ASSERT_TRUE(on(LoadStarted{"m", bigger}, t0).ok());
  ASSERT_TRUE(on(LoadSucceeded{"m", bigger}, t0).ok());
  EXPECT_EQ(state().footprint.n_ctx, 8192u);
}

TEST_F(TierMachineTest, AddAndRemove) {
  EXPECT_FALSE(machine.add("m", Policy::OnDemand));
  EXPECT_EQ(state().policy, Policy::KeepAlive);
  serve("m", t0, small);
  EXPECT_FALSE(machine.remove("m"));
  on(UnloadRequested{"m", true}, t0);
  EXPECT_FALSE(machine.remove("m"));  // its runner has not exited yet
  on(RunnerExited{"m"}, t0);
  EXPECT_TRUE(machine.remove("m"));
  EXPECT_EQ(machine.find("m"), nullptr);
  EXPECT_FALSE(machine.remove("m"));
}

TEST_F(TierMachineTest, OnTheCpuDeviceLockedPagesAreCountedOnceAsDeviceBytes) {
  MachineConfig config;
  config.device_is_host_ram = true;
  reset(config);
  to_host("m", t0);
  EXPECT_EQ(machine.host_used(), 4 * GiB);
  serve("m", t0 + 1min, small);
  EXPECT_TRUE(state().host_locked);
  EXPECT_EQ(machine.host_used(), 0u);  // the runner maps the same pages: device bytes
  EXPECT_EQ(machine.ledger().used(), 5 * GiB);
  on(UnloadRequested{"m"}, t0 + 2min);
  EXPECT_EQ(machine.host_used(), 4 * GiB);
}

TEST_F(TierMachineTest, BytesHeldByOthersCountAgainstTheBudget) {
  // 16 GiB: a pre-spawned runner's 12 GiB leaves no room for a 5 GiB model.
  ASSERT_TRUE(machine.hold_other("(spare runner)", 12 * GiB));
  EXPECT_EQ(machine.ledger().used(), 12 * GiB);
  ASSERT_TRUE(on(RequestArrived{"m"}, t0).ok());
  Outcome out = on(LoadStarted{"m", small}, t0);
  EXPECT_FALSE(out.ok());
  EXPECT_EQ(machine.ledger().reserved("m"), 0u);
  // What does not fit is not held at all.
  EXPECT_FALSE(machine.hold_other("(other)", 5 * GiB));
  EXPECT_EQ(machine.ledger().used(), 12 * GiB);
}

TEST(TierMachineNames, ToStringAndParse) {
  EXPECT_STREQ(to_string(Tier::Warm), "warm");
  EXPECT_STREQ(to_string(Policy::OnDemand), "on_demand");
  EXPECT_EQ(parse_policy("resident"), Policy::Resident);
  EXPECT_EQ(parse_policy("keep_alive"), Policy::KeepAlive);
  EXPECT_EQ(parse_policy("on_demand"), Policy::OnDemand);
  EXPECT_EQ(parse_policy("sometimes"), std::nullopt);
  EXPECT_STREQ(to_string(Action::Kind::StopRunner), "stop_runner");
  EXPECT_STREQ(to_string(Error::Draining), "draining");
  EXPECT_TRUE(on_device(Tier::Loading));
  EXPECT_FALSE(on_device(Tier::Host));
}

}  // namespace
}  // namespace ebb::memory
