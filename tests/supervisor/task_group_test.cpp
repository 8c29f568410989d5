// TaskGroup: the owner's join waits for every task, including tasks that tasks started.
#include "supervisor/task_group.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace ebb::supervisor {
namespace {

TEST(TaskGroupTest, JoinAllWaitsForEveryTaskAndTheTasksTheyStart) {
  TaskGroup group;
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  std::atomic<int> done{0};
  auto gated = [&] {
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return go; });
    ++done;
  };
  for (int i = 0; i < 3; ++i) group.run(gated);
  group.run([&] {
    gated();
    group.run([&] { ++done; });  // started by a task: joined too
  });
  EXPECT_EQ(group.running(), 4u);
  {
    std::lock_guard lk(mu);
    go = true;
  }
  cv.notify_all();
  group.join_all();
  EXPECT_EQ(done, 5);
  EXPECT_EQ(group.running(), 0u);
}

TEST(TaskGroupTest, FinishedTasksAreJoinedWhenTheNextOneStarts) {
  TaskGroup group;
  std::atomic<int> done{0};
  for (int i = 0; i < 50; ++i) group.run([&] { ++done; });
  group.join_all();
  EXPECT_EQ(done, 50);
}

}  // namespace
}  // namespace ebb::supervisor
