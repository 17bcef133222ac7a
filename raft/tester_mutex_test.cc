// raft/tester_mutex_test.cc
//
// TesterMutex guards what tasks share, in both runtimes, without a scheduling
// point in sim. Its reason to exist is ThreadSanitizer: built with
// --config=tsan (./test runs it so), this test reports a data race if TSan
// cannot see the lock order the tasks' accesses (as with an absl::Mutex
// from Debian's uninstrumented Abseil).

#include "raft/tester_mutex.h"

#include <algorithm>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

namespace raft {
namespace {

class TesterMutexTest : public lab::testing::RuntimeTest {};

struct Tally {
  TesterMutex mu;
  std::vector<int> seen ABSL_GUARDED_BY(mu);
};

TEST_P(TesterMutexTest, TasksAddingUnderTheLockLoseNothing) {
  RunInWorld([] {
    Tally tally;
    lab::TaskGroup group("adders");
    for (int task = 0; task < 4; ++task) {
      group.Go("adder", [&tally, task] {
        for (int k = 0; k < 500; ++k) {
          {
            TesterMutexLock l(&tally.mu);
            tally.seen.push_back(task);
          }
          if (k % 50 == 0) lab::Yield();  // lets the others in, in sim
        }
      });
    }
    ASSERT_TRUE(group.Join(absl::Seconds(10)));
    TesterMutexLock l(&tally.mu);
    ASSERT_EQ(tally.seen.size(), 2000u);
    for (int task = 0; task < 4; ++task) {
      EXPECT_EQ(std::count(tally.seen.begin(), tally.seen.end(), task), 500) << task;
    }
  });
}

LAB_INSTANTIATE_RUNTIME_TEST(TesterMutexTest);

}  // namespace
}  // namespace raft
