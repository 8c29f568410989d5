// ModelManager driven through its seams: fake runners (fake_runner.h) and fake footprints, so
// every admission path runs for real without a process.
#include "supervisor/model_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "fake_runner.h"

namespace ebb::supervisor {
namespace {

using namespace std::chrono_literals;
using testing::FakeRunners;
using ::testing::HasSubstr;

constexpr uint64_t MiB = uint64_t{1} << 20;

class ModelManagerTest : public ::testing::Test {
 protected:
  FakeRunners runners;                             // outlives the manager: its exit threads end last
  std::map<std::string, memory::Footprint> sizes;  // by path; filled before the manager starts work
  std::unique_ptr<ModelManager> mgr;

  void start(uint64_t budget) {
    ModelManager::Config cfg;
    cfg.exe = "/nonexistent/ebb";
    cfg.device_total = budget;
    cfg.host_budget = 1024 * MiB;
    cfg.load_timeout = 10s;
    cfg.queue_timeout = 10s;
    cfg.spawn_runner = runners.factory();
    cfg.measure_footprint = [this](const LoadRequest& load, const std::string&) {
      memory::Footprint f = sizes.at(load.path);
      f.n_ctx = load.num_ctx;
      f.n_parallel = load.num_parallel;
      return f;
    };
    mgr = std::make_unique<ModelManager>(cfg);
  }
  void TearDown() override { mgr.reset(); }

  ModelEntry model(const std::string& name, uint64_t weights, uint64_t kv) {
    memory::Footprint f;
    f.weights = weights;
    f.kv = kv;
    sizes[name] = f;
    ModelEntry e;
    e.name = name;
    e.path = name;
    e.file_size = weights;
    e.info = GgufInfo{};
    return e;
  }
  uint64_t accounted() { return mgr->accounted_and_measured().first; }
  bool logged(const std::string& line) {
    auto log = runners.log();
    return std::find(log.begin(), log.end(), line) != log.end();
  }
  bool wait_logged(const std::string& line) {
    return runners.wait_until([&](FakeRunners& w) { return std::count(w.log_.begin(), w.log_.end(), line) > 0; });
  }
  // The manager has no event for "a request is waiting"; its report says so. Bounded spin.
  bool wait_report(const std::function<bool()>& pred) {
    for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;) {
      if (pred()) return true;
      std::this_thread::yield();
    }
    return false;
  }
  int busy(const std::string& name) {
    for (const auto& m : mgr->ps())
      if (m["name"] == name) return m["busy"].get<int>();
    return -1;
  }
};

TEST_F(ModelManagerTest, AFailedLoadAnswersWithItsReasonAndFreesTheBytes) {
  start(1024 * MiB);
  ModelEntry a = model("a", 100 * MiB, 50 * MiB);
  runners.fail_next_load("unknown tensor type");
  try {
    mgr->acquire(a, {}, std::nullopt);
    FAIL() << "acquire succeeded";
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown tensor type"));
  }
  // The failed runner is killed; its exit settles the bytes.
  ASSERT_TRUE(wait_logged("exited a"));
  EXPECT_EQ(accounted(), 0u);
  // The next request loads it again, on a new runner.
  auto lease = mgr->acquire(a, {}, std::nullopt);
  EXPECT_TRUE(lease.runner().alive());
  EXPECT_EQ(runners.loads_started(), 2);
  EXPECT_EQ(accounted(), 150 * MiB);
}

TEST_F(ModelManagerTest, ARunnerThatCannotStartFailsTheLoadAndFreesTheBytes) {
  runners.fail_spawns("fork: Resource temporarily unavailable");
  start(1024 * MiB);  // no baseline runner, no spare
  ModelEntry a = model("a", 100 * MiB, 50 * MiB);
  try {
    mgr->acquire(a, {}, std::nullopt);
    FAIL() << "acquire succeeded";
  } catch (const LoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("fork: Resource temporarily unavailable"));
  }
  EXPECT_EQ(accounted(), 0u);
  runners.fail_spawns("");
  auto lease = mgr->acquire(a, {}, std::nullopt);
  EXPECT_EQ(runners.loads_started(), 1);
}

TEST_F(ModelManagerTest, ARunnerThatDiesMidLoadFailsTheRequestAndTheNextOneLoadsAgain) {
  start(1024 * MiB);
  ModelEntry a = model("a", 100 * MiB, 50 * MiB);
  runners.hold_loads();
  std::string outcome;
  std::thread request([&] {
    try {
      mgr->acquire(a, {}, std::nullopt);
      outcome = "served";
    } catch (const LoadError& e) {
      outcome = e.what();
    }
  });
  ASSERT_TRUE(runners.wait_until([](FakeRunners& w) { return w.loads_ == 1; }));
  EXPECT_EQ(accounted(), 150 * MiB);  // reserved while it loads
  runners.runner_of("a")->die("runner was killed by signal 9 (Killed)");
  request.join();
  EXPECT_THAT(outcome, HasSubstr("could not be loaded"));
  ASSERT_TRUE(wait_logged("exited a"));
  EXPECT_EQ(accounted(), 0u);
  runners.release_loads();
  auto lease = mgr->acquire(a, {}, std::nullopt);
  EXPECT_EQ(runners.loads_started(), 2);
}

TEST_F(ModelManagerTest, ConcurrentRequestsForOneModelShareOneLoad) {
  start(1024 * MiB);
  ModelEntry a = model("a", 100 * MiB, 50 * MiB);
  runners.hold_loads();
  std::atomic<int> served{0};
  std::vector<std::thread> requests;
  for (int i = 0; i < 2; ++i)
    requests.emplace_back([&] {
      auto lease = mgr->acquire(a, {}, std::nullopt);
      if (lease.runner().alive()) ++served;
    });
  ASSERT_TRUE(runners.wait_until([](FakeRunners& w) { return w.loads_ == 1; }));
  ASSERT_TRUE(wait_report([&] { return busy("a") == 2; }));  // the second one joined the load
  runners.release_loads();
  for (auto& t : requests) t.join();
  EXPECT_EQ(served, 2);
  EXPECT_EQ(runners.loads_started(), 1);
}

TEST_F(ModelManagerTest, TwoModelsOnABudgetForOneTakeTurns) {
  start(200 * MiB);
  ModelEntry a = model("a", 100 * MiB, 50 * MiB), b = model("b", 100 * MiB, 50 * MiB);
  auto lease_a = std::make_optional(mgr->acquire(a, {}, std::nullopt));
  std::atomic<bool> b_served{false};
  std::thread request_b([&] {
    auto lease = mgr->acquire(b, {}, std::nullopt);
    b_served = lease.runner().alive();
  });
  // b waits for room while a's request runs: nothing is taken from under it.
  ASSERT_TRUE(wait_report([&] { return mgr->memory()["waiting_requests"] == 1; }));
  EXPECT_FALSE(logged("stop a"));
  EXPECT_FALSE(logged("load b"));
  lease_a.reset();  // a is idle now: it gives way
  request_b.join();
  EXPECT_TRUE(b_served);
  auto log = runners.log();
  auto stop_a = std::find(log.begin(), log.end(), "stop a"), load_b = std::find(log.begin(), log.end(), "load b");
  ASSERT_NE(stop_a, log.end());
  ASSERT_NE(load_b, log.end());
  EXPECT_LT(stop_a, load_b);
  EXPECT_LE(accounted(), 200 * MiB);
}

TEST_F(ModelManagerTest, EvictionReleasesTheLeastRecentlyUsedKvFirst) {
  start(450 * MiB);
  for (const char* name : {"a", "b", "c"}) {
    auto lease = mgr->acquire(model(name, 100 * MiB, 50 * MiB), {}, std::nullopt);
  }
  // d needs 50 MiB: the KV of the least recently used model (a) is enough.
  auto lease = mgr->acquire(model("d", 50 * MiB, 0), {}, std::nullopt);
  EXPECT_TRUE(logged("release_kv a"));
  EXPECT_FALSE(logged("release_kv b"));
  EXPECT_FALSE(logged("release_kv c"));
  EXPECT_FALSE(logged("stop a"));
  EXPECT_EQ(accounted(), 450 * MiB);
}

TEST_F(ModelManagerTest, NothingCanGiveWayAnswers503WithTheNumbers) {
  start(200 * MiB);
  ModelEntry a = model("a", 100 * MiB, 50 * MiB), b = model("b", 100 * MiB, 50 * MiB);
  mgr->load(a, std::nullopt);
  mgr->pin(a, true);
  try {
    mgr->acquire(b, {}, std::nullopt);
    FAIL() << "acquire succeeded";
  } catch (const Unavailable& e) {
    EXPECT_THAT(e.what(), HasSubstr("model 'b' needs 150 MiB"));
    EXPECT_THAT(e.what(), HasSubstr("pinned: a"));
  }
  EXPECT_FALSE(logged("stop a"));
  EXPECT_EQ(runners.loads_started(), 1);
}

}  // namespace
}  // namespace ebb::supervisor
