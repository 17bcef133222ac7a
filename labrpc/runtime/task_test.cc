// labrpc/runtime/task_test.cc
//
// Tests of tasks, time and randomness (runtime.h, world.h), each body run
// under both runtimes (TaskTest/threads, TaskTest/sim).
//
// Timing: in sim the clock is virtual, so durations are checked exactly; in
// threads only lower bounds (or very generous upper bounds) are checked,
// since these machines are loaded 2-core VMs.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

namespace lab {
namespace {

// Polls `pred` every millisecond of runtime time until it holds or `timeout`
// passes; returns its last value. Free in sim (virtual time).
bool Eventually(const std::function<bool()>& pred, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = Now() + timeout;
  while (!pred()) {
    if (Now() >= deadline) return pred();
    lab::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// Increments a counter when destroyed: shows that a task's stack unwound.
struct CountOnDestroy {
  explicit CountOnDestroy(std::atomic<int>* n) : n(n) {}
  ~CountOnDestroy() { n->fetch_add(1); }
  std::atomic<int>* n;
};

RuntimeKind Other(RuntimeKind kind) {
  return kind == RuntimeKind::kSim ? RuntimeKind::kThreads : RuntimeKind::kSim;
}

// The first `n` values of RandInt(0, 1'000'000) in a fresh world of `kind`.
std::vector<int64_t> Draws(RuntimeKind kind, uint64_t seed, int n) {
  std::vector<int64_t> out;
  absl::Status status = testing::RunWorld(kind, seed, [&] {
    for (int i = 0; i < n; ++i) out.push_back(RandInt(0, 1'000'000));
  });
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

class TaskTest : public testing::RuntimeTest {};

TEST_P(TaskTest, GoReturnsAtOnce) {
  RunInWorld([] {
    // A task that sleeps a long time must not hold up the Go that starts it.
    const absl::Time start = Now();
    Go("sleeper", [] { lab::SleepFor(absl::Seconds(30)); });
    const absl::Duration took = Now() - start;
    if (CurrentRuntime() == RuntimeKind::kSim) {
      EXPECT_EQ(took, absl::ZeroDuration());
    } else {
      EXPECT_LT(took, absl::Seconds(5));
    }
    // main returns now: the sleeper is killed at the world's end.
  });
}

TEST_P(TaskTest, GoRunsTasksConcurrently) {
  Mutex mu;
  CondVar cv;  // notified by both tasks when they arrive
  bool arrived[2] = {false, false};
  bool saw_other[2] = {false, false};
  std::atomic<int> done{0};
  RunInWorld([&] {
    // Two tasks meet: each arrives, then waits for the other. Run one after
    // the other to completion, the first would time out alone.
    for (int i = 0; i < 2; ++i) {
      Go("party-" + std::to_string(i), [&, i] {
        std::unique_lock<Mutex> l(mu);
        arrived[i] = true;
        cv.NotifyAll();
        const absl::Time deadline = Now() + absl::Seconds(10);
        while (!arrived[1 - i] && cv.WaitUntil(l, deadline)) {
        }
        saw_other[i] = arrived[1 - i];
        done.fetch_add(1);
      });
    }
    EXPECT_TRUE(Eventually([&] { return done.load() == 2; }, absl::Seconds(30)));
    MutexLock l(&mu);
    EXPECT_TRUE(saw_other[0]);
    EXPECT_TRUE(saw_other[1]);
  });
}

TEST_P(TaskTest, SleepForAdvancesNowByTheDuration) {
  RunInWorld([this] {
    // Sleep 250ms while another task is busy sleeping in small steps.
    Go("ticker", [] {
      for (int i = 0; i < 100; ++i) lab::SleepFor(absl::Milliseconds(3));
    });
    const absl::Time start = Now();
    lab::SleepFor(absl::Milliseconds(250));
    const absl::Duration slept = Now() - start;
    if (sim()) {
      // Virtual time: exactly the duration.
      EXPECT_EQ(slept, absl::Milliseconds(250));
    } else {
      EXPECT_GE(slept, absl::Milliseconds(250));
      EXPECT_LT(slept, absl::Seconds(10));
    }
  });
}

TEST_P(TaskTest, SleepUntilWakesAtTheDeadline) {
  RunInWorld([this] {
    const absl::Time deadline = Now() + absl::Milliseconds(120);
    SleepUntil(deadline);
    if (sim()) {
      EXPECT_EQ(Now(), deadline);
    } else {
      EXPECT_GE(Now(), deadline);
    }
  });
}

TEST_P(TaskTest, SimClockStartsAtAFixedInstantAndStandsStillWithoutSleeps) {
  if (!sim()) GTEST_SKIP() << "the threads clock is the wall clock";
  absl::Time first_start, second_start;
  // Two worlds start their clocks at the same instant, so runs replay.
  ASSERT_TRUE(testing::RunWorld(runtime(), 1, [&] { first_start = Now(); }).ok());
  ASSERT_TRUE(testing::RunWorld(runtime(), 2, [&] { second_start = Now(); }).ok());
  EXPECT_EQ(first_start, second_start);
  RunInWorld([] {
    // Work without sleeping takes no virtual time.
    const absl::Time start = Now();
    int64_t sum = 0;
    for (int i = 0; i < 1000; ++i) {
      sum += RandInt(0, 10);
      Yield();
    }
    EXPECT_GE(sum, 0);
    EXPECT_EQ(Now(), start);
  });
}

TEST_P(TaskTest, SleepForZeroOrNegativeJustYields) {
  for (absl::Duration d : {absl::ZeroDuration(), absl::Milliseconds(-5)}) {
    std::atomic<bool> flag{false};
    RunInWorld([&] {
      // Another task sets a flag; main spins on lab::SleepFor(d), which must let
      // it run (in sim there is no other way for it to run) and, in sim,
      // must not move the clock.
      Go("setter", [&] { flag.store(true); });
      const absl::Time start = Now();
      int spins = 0;
      while (!flag.load() && spins < 1'000'000 && Now() - start < absl::Seconds(10)) {
        lab::SleepFor(d);
        ++spins;
      }
      EXPECT_TRUE(flag.load()) << "d=" << d;
      if (sim()) {
        EXPECT_EQ(Now(), start) << "d=" << d;
      }
    });
  }
}

TEST_P(TaskTest, RandIntStaysInRangeAndCoversIt) {
  RunInWorld([] {
    // [lo, hi): hi itself never comes up, every other value does.
    std::vector<int> seen(10, 0);
    for (int i = 0; i < 10'000; ++i) {
      const int64_t v = RandInt(-3, 7);
      ASSERT_GE(v, -3);
      ASSERT_LT(v, 7);
      ++seen[v + 3];
    }
    for (int i = 0; i < 10; ++i) {
      // 1000 expected each; 700 is far outside chance for a fair draw.
      EXPECT_GT(seen[i], 700) << "value " << i - 3;
    }
    // A range of one value has one outcome.
    for (int i = 0; i < 100; ++i) EXPECT_EQ(RandInt(41, 42), 41);
    // The widest ranges work too.
    for (int i = 0; i < 100; ++i) {
      const int64_t v = RandInt(INT64_MIN, INT64_MAX);
      EXPECT_LT(v, INT64_MAX);
    }
    std::set<int64_t> big;
    for (int i = 0; i < 100; ++i) big.insert(RandInt(0, int64_t{1} << 62));
    EXPECT_GT(big.size(), 95u);
  });
}

TEST_P(TaskTest, RandIntSequenceIsFixedBySeedInBothRuntimes) {
  // One seed gives the same first draws in two worlds of this runtime, and
  // in a world of the other runtime: randomness does not depend on the
  // runtime (a seed found in threads replays its draws in sim).
  const std::vector<int64_t> a = Draws(runtime(), 42, 100);
  const std::vector<int64_t> b = Draws(runtime(), 42, 100);
  const std::vector<int64_t> other = Draws(Other(runtime()), 42, 100);
  ASSERT_EQ(a.size(), 100u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, other);
  // Another seed, another sequence.
  EXPECT_NE(a, Draws(runtime(), 43, 100));
}

TEST_P(TaskTest, RandUint64IsTheStandardMt19937SeededWithTheWorldSeed) {
  // std::mt19937_64 is specified exactly by the standard, so this holds on
  // every standard library (its distributions are not, hence RandInt's own
  // mapping).
  std::vector<uint64_t> got;
  ASSERT_TRUE(testing::RunWorld(runtime(), 12345, [&] {
                for (int i = 0; i < 5; ++i) got.push_back(RandUint64());
              }).ok());
  std::mt19937_64 engine(12345);
  for (uint64_t v : got) EXPECT_EQ(v, engine());
}

TEST_P(TaskTest, KilledTaskNameAndRuntimeAreReported) {
  std::atomic<bool> killed_after_catch{false};
  std::string worker_name;
  RuntimeKind worker_runtime = RuntimeKind::kThreads;
  bool main_killed = true;
  RunInWorld([&] {
    EXPECT_EQ(CurrentTaskName(), "main");
    EXPECT_EQ(CurrentRuntime(), runtime());
    main_killed = Killed();
    TaskGroup group("g");
    group.Go("worker-7", [&] {
      worker_name = std::string(CurrentTaskName());
      worker_runtime = CurrentRuntime();
      try {
        lab::SleepFor(absl::InfiniteDuration());
      } catch (const TaskKilled&) {
        // A killed task learns so from its blocking call; Killed() agrees.
        killed_after_catch.store(Killed());
        throw;
      }
    });
    EXPECT_TRUE(Eventually([&] { return group.live() == 1; }));
    lab::SleepFor(absl::Milliseconds(20));
    group.Kill();
    EXPECT_TRUE(group.Join(absl::Seconds(10)));
  });
  EXPECT_FALSE(main_killed);
  EXPECT_EQ(worker_name, "worker-7");
  EXPECT_EQ(worker_runtime, runtime());
  EXPECT_TRUE(killed_after_catch.load());
}

TEST_P(TaskTest, WorldEndKillsLeftoverTasks) {
  // State that outlives the world, since the leftover tasks use it while
  // they are killed after main has returned.
  std::atomic<int> unwound{0};
  std::atomic<int> started{0};
  Mutex mu;
  CondVar cv;
  Chan<int> ch;
  absl::Status status = testing::RunWorld(runtime(), testing::TestSeed(), [&] {
    // Three tasks that would block forever; main returns without stopping
    // them.
    Go("sleeper", [&] {
      CountOnDestroy c(&unwound);
      started.fetch_add(1);
      lab::SleepFor(absl::InfiniteDuration());
    });
    Go("waiter", [&] {
      CountOnDestroy c(&unwound);
      MutexLock l(&mu);
      started.fetch_add(1);
      while (true) cv.Wait(&mu);
    });
    Go("receiver", [&] {
      CountOnDestroy c(&unwound);
      started.fetch_add(1);
      ch.Recv();
      ADD_FAILURE() << "Recv returned on a channel nobody sends on";
    });
    EXPECT_TRUE(Eventually([&] { return started.load() == 3; }));
    lab::SleepFor(absl::Milliseconds(10));
  });
  // Run() still ends cleanly, and only after the tasks unwound.
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(unwound.load(), 3);
}

TEST_P(TaskTest, GoFromInsideATask) {
  Chan<std::string> ch(2);
  RunInWorld([&] {
    // main starts a parent, the parent starts a child; both report back.
    Go("parent", [&] {
      Go("child", [&] { ch.Send(std::string(CurrentTaskName())); });
      ch.Send(std::string(CurrentTaskName()));
    });
    std::set<std::string> names;
    for (int i = 0; i < 2; ++i) names.insert(*ch.Recv());
    EXPECT_EQ(names, (std::set<std::string>{"parent", "child"}));
  });
}

TEST_P(TaskTest, ThousandTasksAllFinish) {
  constexpr int kTasks = 1000;
  Mutex mu;
  CondVar all_done;  // notified by the last task to finish
  int done = 0;
  std::vector<int> ran(kTasks, 0);
  RunInWorld([&] {
    // Each task sleeps a little (so many are alive at once), marks itself,
    // and the last one tells main.
    for (int i = 0; i < kTasks; ++i) {
      Go("t" + std::to_string(i), [&, i] {
        lab::SleepFor(absl::Milliseconds(RandInt(0, 5)));
        MutexLock l(&mu);
        ++ran[i];
        if (++done == kTasks) all_done.NotifyAll();
      });
    }
    std::unique_lock<Mutex> l(mu);
    const absl::Time deadline = Now() + absl::Seconds(30);
    while (done < kTasks && all_done.WaitUntil(l, deadline)) {
    }
    EXPECT_EQ(done, kTasks);
    for (int i = 0; i < kTasks; ++i) EXPECT_EQ(ran[i], 1) << "task " << i;
  });
}

LAB_INSTANTIATE_RUNTIME_TEST(TaskTest);

}  // namespace
}  // namespace lab
