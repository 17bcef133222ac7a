// labrpc/runtime/sim_test.cc
//
// What only the sim runtime promises: one seed fixes the whole run, time is
// virtual, a deadlock is reported with every blocked task, a busy loop is
// named, a killed group never runs again, and many fibers and timers are
// cheap.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

#if defined(__SANITIZE_THREAD__)
// These tests watch the sim scheduler itself: their tasks share plain
// variables on purpose (in sim one runs at a time), which race detection in
// sim rightly calls races. So TSan reports nothing here; race detection has
// its own tests (race_test.cc), and every other runtime test runs under it.
extern "C" const char* __tsan_default_options() { return "report_bugs=0"; }
#endif

namespace {

using Clock = std::chrono::steady_clock;

// ThreadSanitizer gives every fiber its own thread state, which costs memory
// and time: scale tests shrink under it.
#if defined(__SANITIZE_THREAD__)
constexpr bool kTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif
#else
constexpr bool kTsan = false;
#endif
using lab::testing::RunWorld;
using lab::testing::TestOptions;
using lab::testing::TestSeed;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The line of a deadlock report about task `name`, or "" if none.
std::string ReportLine(const absl::Status& status, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(status.message(), '\n')) {
    if (absl::StrContains(line, absl::StrCat("\"", name, "\""))) return std::string(line);
  }
  return "";
}

// Counts objects that live on tasks' stacks, to see that teardown unwinds
// them.
std::atomic<int> g_tracked_live{0};
std::atomic<int> g_tracked_made{0};
struct Tracked {
  Tracked() {
    ++g_tracked_live;
    ++g_tracked_made;
  }
  ~Tracked() { --g_tracked_live; }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
};
void ResetTracked() {
  g_tracked_live = 0;
  g_tracked_made = 0;
}

// ---------------------------------------------------------------------------
// Determinism

// What a workload run saw, in order: "t=<us> <task> <event>" lines.
struct Observed {
  std::vector<std::string> trace;
  uint64_t fingerprint = 0;
  absl::Status status;
};

// Many tasks exercising every kind of scheduling point: random sleeps, a
// contended mutex, condition waits, a buffered channel between workers and
// consumers, and a group of victims killed part-way through.
Observed RunWorkload(uint64_t seed) {
  Observed out;
  // Shared state outlives the world, so tasks never see it destroyed.
  lab::Mutex mu;
  lab::CondVar cv;  // notified by workers when `produced` or `workers_done` grows
  int produced = 0;
  int workers_done = 0;
  lab::Chan<int> work(2);
  lab::Chan<int> nobody_sends;
  constexpr int kWorkers = 6;
  constexpr int kRounds = 15;

  lab::World world(TestOptions(lab::RuntimeKind::kSim, seed));
  out.status = world.Run([&] {
    const absl::Time start = lab::Now();
    // One OS thread in sim: appending needs no lock.
    auto note = [&](const std::string& event) {
      out.trace.push_back(absl::StrCat("t=", absl::ToInt64Microseconds(lab::Now() - start), " ",
                                       std::string(lab::CurrentTaskName()), " ", event));
    };

    lab::TaskGroup workers("workers");
    lab::TaskGroup consumers("consumers");
    lab::TaskGroup watchers("watchers");
    lab::TaskGroup victims("victims");

    for (int w = 0; w < kWorkers; ++w) {
      workers.Go(absl::StrCat("worker-", w), [&, w] {
        for (int r = 0; r < kRounds; ++r) {
          lab::SleepFor(absl::Milliseconds(lab::RandInt(0, 5)));
          {
            lab::MutexLock l(&mu);
            ++produced;
            note(absl::StrCat("produced ", produced));
            if (lab::RandInt(0, 2) == 0) lab::Yield();  // hold the lock across a switch
            cv.NotifyAll();
          }
          work.Send(w * 100 + r);
          note(absl::StrCat("sent ", w * 100 + r));
        }
        lab::MutexLock l(&mu);
        ++workers_done;
        cv.NotifyAll();
      });
    }
    for (int c = 0; c < 2; ++c) {
      consumers.Go(absl::StrCat("consumer-", c), [&] {
        while (std::optional<int> v = work.Recv()) {
          note(absl::StrCat("got ", *v));
          lab::SleepFor(absl::Microseconds(lab::RandInt(0, 3000)));
        }
        note("closed");
      });
    }
    for (int k = 1; k <= 3; ++k) {
      watchers.Go(absl::StrCat("watcher-", k), [&, k] {
        lab::MutexLock l(&mu);
        while (produced < k * 25) cv.Wait(&mu);
        note(absl::StrCat("saw ", produced));
      });
    }
    for (int v = 0; v < 4; ++v) {
      victims.Go(absl::StrCat("victim-", v), [&, v] {
        while (true) {
          lab::SleepFor(absl::Milliseconds(lab::RandInt(1, 10)));
          note("tick");
          if (v == 1) {
            lab::MutexLock l(&mu);
            cv.WaitFor(&mu, absl::Milliseconds(lab::RandInt(1, 5)));
          } else if (v == 2) {
            nobody_sends.Recv();  // only a kill ends this
          }
        }
      });
    }

    // Kill the victims part-way through the workers' run.
    lab::SleepFor(absl::Milliseconds(lab::RandInt(5, 30)));
    victims.Kill();
    note("killed victims");
    EXPECT_TRUE(victims.Join(absl::Seconds(1)));

    {
      lab::MutexLock l(&mu);
      while (workers_done < kWorkers) cv.Wait(&mu);
    }
    work.Close();
    EXPECT_TRUE(consumers.Join(absl::Seconds(10)));
    EXPECT_TRUE(watchers.Join(absl::Seconds(10)));
    note(absl::StrCat("done fingerprint=", lab::ScheduleFingerprint()));
  });
  out.fingerprint = world.fingerprint();
  return out;
}

TEST(SimDeterminism, SameSeedReplaysTheSameRun) {
  // For each seed, two runs of the same workload must schedule every event
  // identically: the same fingerprint and the same observable trace.
  constexpr int kSeeds = 50;
  std::set<uint64_t> fingerprints;
  std::set<std::vector<std::string>> traces;
  const uint64_t first = TestSeed(1000);
  for (uint64_t seed = first; seed < first + kSeeds; ++seed) {
    SCOPED_TRACE(absl::StrCat("LAB_RUNTIME=sim LAB_SEED=", seed));
    Observed a = RunWorkload(seed);
    Observed b = RunWorkload(seed);
    ASSERT_TRUE(a.status.ok()) << a.status;
    ASSERT_TRUE(b.status.ok()) << b.status;
    EXPECT_NE(a.fingerprint, 0u);
    EXPECT_EQ(a.fingerprint, b.fingerprint);
    ASSERT_EQ(a.trace, b.trace);
    // The workload really ran: every value was consumed, the kill happened.
    int got = 0;
    bool killed = false;
    for (const std::string& line : a.trace) {
      if (absl::StrContains(line, " got ")) ++got;
      if (absl::StrContains(line, "killed victims")) killed = true;
    }
    EXPECT_EQ(got, 6 * 15);
    EXPECT_TRUE(killed);
    fingerprints.insert(a.fingerprint);
    traces.insert(a.trace);
  }
  // Different seeds give different schedules.
  EXPECT_GE(fingerprints.size(), 45u);
  EXPECT_GE(traces.size(), 45u);
}

// ---------------------------------------------------------------------------
// Virtual time

TEST(SimTime, HourLongSleepTakesNoRealTime) {
  // A task sleeping an hour advances the virtual clock by exactly an hour,
  // at once.
  const Clock::time_point real_start = Clock::now();
  absl::Duration slept;
  lab::World world(TestOptions(lab::RuntimeKind::kSim, TestSeed()));
  absl::Status status = world.Run([&] {
    const absl::Time t0 = lab::Now();
    lab::SleepFor(absl::Hours(1));
    slept = lab::Now() - t0;
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(slept, absl::Hours(1));
  EXPECT_EQ(world.elapsed(), absl::Hours(1));
  EXPECT_LT(SecondsSince(real_start), 3.0);
}

TEST(SimTime, TimersFireInDeadlineOrder) {
  // Tasks started in a scrambled order, each sleeping a distinct time, wake in
  // the order of their deadlines, each exactly at its deadline.
  struct Wakeup {
    int delay_ms;
    absl::Duration at;
  };
  std::vector<Wakeup> wakeups;
  absl::Status status = RunWorld(lab::RuntimeKind::kSim, TestSeed(), [&] {
    const absl::Time t0 = lab::Now();
    lab::TaskGroup sleepers("sleepers");
    for (int i = 0; i < 20; ++i) {
      const int delay_ms = (i * 7) % 20 * 10 + 10;  // 10..200, scrambled
      sleepers.Go(absl::StrCat("sleeper-", delay_ms), [&, delay_ms] {
        lab::SleepFor(absl::Milliseconds(delay_ms));
        wakeups.push_back({delay_ms, lab::Now() - t0});
      });
    }
    EXPECT_TRUE(sleepers.Join(absl::Seconds(1)));
  });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(wakeups.size(), 20u);
  for (size_t i = 0; i < wakeups.size(); ++i) {
    EXPECT_EQ(wakeups[i].delay_ms, static_cast<int>(i + 1) * 10) << "wakeup #" << i;
    EXPECT_EQ(wakeups[i].at, absl::Milliseconds(wakeups[i].delay_ms));
  }
}

TEST(SimTime, EqualDeadlinesAllFire) {
  // Fifty tasks sleeping until one instant all wake at that instant.
  constexpr int kTasks = 50;
  int woke = 0;
  std::vector<absl::Duration> at;
  absl::Status status = RunWorld(lab::RuntimeKind::kSim, TestSeed(), [&] {
    const absl::Time t0 = lab::Now();
    const absl::Time deadline = t0 + absl::Milliseconds(100);
    lab::TaskGroup sleepers("sleepers");
    for (int i = 0; i < kTasks; ++i) {
      sleepers.Go(absl::StrCat("sleeper-", i), [&] {
        lab::SleepUntil(deadline);
        ++woke;
        at.push_back(lab::Now() - t0);
      });
    }
    EXPECT_TRUE(sleepers.Join(absl::Seconds(1)));
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(woke, kTasks);
  for (absl::Duration d : at) EXPECT_EQ(d, absl::Milliseconds(100));
}

// ---------------------------------------------------------------------------
// Deadlock detection

TEST(SimDeadlock, OppositeLockOrderIsReportedWithBothTasks) {
  // alice takes a then b, bob takes b then a, each sleeping in between so
  // both hold their first lock: every task is blocked and Run() says who
  // waits on what. Teardown then unwinds every blocked task's stack.
  ResetTracked();
  lab::Mutex a, b;
  lab::Chan<int> done;
  std::atomic<bool> reached_second_lock{false};
  const uint64_t seed = TestSeed();
  absl::Status status = RunWorld(lab::RuntimeKind::kSim, seed, [&] {
    lab::Go("alice", [&] {
      Tracked on_stack;
      lab::MutexLock la(&a);
      lab::SleepFor(absl::Milliseconds(10));
      lab::MutexLock lb(&b);
      reached_second_lock = true;
    });
    lab::Go("bob", [&] {
      Tracked on_stack;
      lab::MutexLock lb(&b);
      lab::SleepFor(absl::Milliseconds(10));
      lab::MutexLock la(&a);
      reached_second_lock = true;
    });
    Tracked on_stack;
    done.Recv();
  });
  ASSERT_FALSE(status.ok());
  const std::string message(status.message());
  EXPECT_TRUE(absl::StrContains(message, "deadlock")) << message;
  EXPECT_TRUE(absl::StrContains(message, absl::StrCat("seed ", seed))) << message;
  EXPECT_TRUE(absl::StrContains(ReportLine(status, "alice"), "Mutex.lock")) << message;
  EXPECT_TRUE(absl::StrContains(ReportLine(status, "bob"), "Mutex.lock")) << message;
  EXPECT_TRUE(absl::StrContains(ReportLine(status, "main"), "Chan.Recv")) << message;
  EXPECT_FALSE(reached_second_lock);
  // Every blocked task unwound: the objects on their stacks were destroyed.
  EXPECT_EQ(g_tracked_made, 3);
  EXPECT_EQ(g_tracked_live, 0);
  // And the locks they held were released on the way out.
  status = RunWorld(lab::RuntimeKind::kSim, seed, [&] {
    if (a.try_lock()) {
      a.unlock();
    } else {
      ADD_FAILURE() << "a is still locked";
    }
    if (b.try_lock()) {
      b.unlock();
    } else {
      ADD_FAILURE() << "b is still locked";
    }
  });
  EXPECT_TRUE(status.ok()) << status;
}

TEST(SimDeadlock, RecvWithNoSenderIsReported) {
  // A task receiving on a channel nobody sends to, while main waits for it.
  ResetTracked();
  lab::Chan<int> silent;
  lab::Chan<int> done;
  absl::Status status = RunWorld(lab::RuntimeKind::kSim, TestSeed(), [&] {
    lab::Go("listener", [&] {
      Tracked on_stack;
      silent.Recv();
      done.Send(1);
    });
    done.Recv();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), "deadlock")) << status;
  EXPECT_TRUE(absl::StrContains(ReportLine(status, "listener"), "Chan.Recv")) << status;
  EXPECT_EQ(g_tracked_made, 1);
  EXPECT_EQ(g_tracked_live, 0);
}

TEST(SimDeadlock, CondVarWaitWithNoNotifierIsReported) {
  // A task waiting on a condition nobody will ever signal.
  ResetTracked();
  lab::Mutex mu;
  lab::CondVar cv;
  bool ready = false;
  lab::Chan<int> done;
  absl::Status status = RunWorld(lab::RuntimeKind::kSim, TestSeed(), [&] {
    lab::Go("waiter", [&] {
      Tracked on_stack;
      lab::MutexLock l(&mu);
      while (!ready) cv.Wait(&mu);
      done.Send(1);
    });
    done.Recv();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), "deadlock")) << status;
  EXPECT_TRUE(absl::StrContains(ReportLine(status, "waiter"), "CondVar.Wait")) << status;
  EXPECT_EQ(g_tracked_made, 1);
  EXPECT_EQ(g_tracked_live, 0);
}

// A self-deadlock, on purpose (the analysis would reject it).
void LockTwice(lab::Mutex& mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  mu.lock();
  mu.lock();
}

TEST(SimDeadlock, MainBlockedOnItselfIsReported) {
  // main alone, receiving on its own channel: a deadlock of one task.
  ResetTracked();
  lab::Chan<int> own;
  absl::Status status = RunWorld(lab::RuntimeKind::kSim, TestSeed(), [&] {
    Tracked on_stack;
    own.Recv();
  });
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), "deadlock")) << status;
  EXPECT_TRUE(absl::StrContains(ReportLine(status, "main"), "Chan.Recv")) << status;
  EXPECT_EQ(g_tracked_live, 0);

  // main locking a mutex it already holds (Mutex is not recursive).
  ResetTracked();
  lab::Mutex mu;
  status = RunWorld(lab::RuntimeKind::kSim, TestSeed(), [&] {
    Tracked on_stack;
    LockTwice(mu);
  });
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), "deadlock")) << status;
  EXPECT_TRUE(absl::StrContains(ReportLine(status, "main"), "Mutex.lock")) << status;
  EXPECT_EQ(g_tracked_made, 1);
  EXPECT_EQ(g_tracked_live, 0);
}

TEST(SimDeadlock, TeardownUnwindsOtherTasksBeforeMain) {
  // The natural way to write a world keeps shared objects on main's stack
  // (lab::Mutex a, b; in main, used by alice and bob). After a deadlock the
  // user cannot stop the tasks first, so teardown must unwind every other
  // task before main's locals go; otherwise alice's lock guard unlocks a
  // destroyed mutex (AddressSanitizer reports it). Objects here live outside
  // the world to keep the test itself safe; it checks the order only.
  lab::Mutex a, b;
  lab::Chan<int> done;
  std::vector<std::string> unwound;
  struct Recorder {
    std::vector<std::string>* out;
    std::string name;
    ~Recorder() { out->push_back(name); }
  };
  int main_not_last = 0;
  std::string example;
  for (uint64_t seed = TestSeed(); seed < TestSeed() + 20; ++seed) {
    unwound.clear();
    absl::Status status = RunWorld(lab::RuntimeKind::kSim, seed, [&] {
      lab::Go("alice", [&] {
        Recorder r{&unwound, "alice"};
        lab::MutexLock la(&a);
        lab::SleepFor(absl::Milliseconds(10));
        lab::MutexLock lb(&b);
      });
      lab::Go("bob", [&] {
        Recorder r{&unwound, "bob"};
        lab::MutexLock lb(&b);
        lab::SleepFor(absl::Milliseconds(10));
        lab::MutexLock la(&a);
      });
      Recorder r{&unwound, "main"};
      done.Recv();
    });
    ASSERT_FALSE(status.ok()) << "LAB_SEED=" << seed;
    ASSERT_EQ(unwound.size(), 3u) << "LAB_SEED=" << seed;
    if (unwound.back() != "main") {
      ++main_not_last;
      if (example.empty()) {
        example = absl::StrCat("LAB_SEED=", seed, ": ", absl::StrJoin(unwound, ", "));
      }
    }
  }
  EXPECT_EQ(main_not_last, 0) << "of 20 seeds; unwound in order " << example;
}

// ---------------------------------------------------------------------------
// Busy loops

// volatile: each read is a side effect, so the optimizer can neither fold the
// flag (nothing clears it) nor drop the loop as one that does nothing.
volatile bool g_spin = true;

TEST(SimBusyLoopDeathTest, SpinningTaskIsNamedAndTheProcessExits) {
  // A task that never makes a runtime call cannot be preempted in sim; the
  // watchdog names it after busy_limit and ends the process.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        lab::WorldOptions options = TestOptions(lab::RuntimeKind::kSim, TestSeed());
        options.busy_limit = absl::Milliseconds(300);
        lab::World world(options);
        (void)world.Run([] {
          lab::Go("spinner", [] {
            while (g_spin) {
            }
          });
          lab::SleepFor(absl::Seconds(1));
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(lab::kStuckTaskExitCode), "\"spinner\".*busy loop");
}

TEST(SimBusyLoopDeathTest, BusyLimitIsCpuTimeNotRealTime) {
  // Real time that passes while the task uses no CPU (here a real sleep; on
  // a loaded machine, waiting for a core) does not count towards
  // busy_limit: a loaded machine does not turn a short computation into a
  // busy loop. (Only six times busy_limit of it would.)
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        lab::WorldOptions options = TestOptions(lab::RuntimeKind::kSim, TestSeed());
        options.busy_limit = absl::Milliseconds(300);
        lab::World world(options);
        (void)world.Run([] {
          lab::Go("sleeper", [] { std::this_thread::sleep_for(std::chrono::milliseconds(600)); });
          lab::SleepFor(absl::Seconds(1));
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

// ---------------------------------------------------------------------------
// Kill "at once"

TEST(SimKill, KilledGroupNeverRunsAgain) {
  // After Kill() returns, no task of the group runs another statement,
  // whatever it was doing: sleeping, runnable after a yield, woken from a
  // mutex or a condition but not yet run, blocked on a channel, or started
  // but never run. Each task checks `kill_returned` after every runtime
  // call; destructors during unwinding are fine.
  lab::Mutex mu;
  lab::CondVar cv;
  lab::Chan<int> ch;
  bool kill_returned = false;
  std::vector<std::string> ran_after_kill;  // names of tasks that did
  int never_started_ran = 0;
  int started = 0;
  auto check = [&] {
    if (kill_returned) ran_after_kill.emplace_back(lab::CurrentTaskName());
  };
  absl::Status status = RunWorld(lab::RuntimeKind::kSim, TestSeed(), [&] {
    lab::TaskGroup server("server");
    server.Go("sleeper", [&] {
      ++started;
      while (true) {
        lab::SleepFor(absl::Milliseconds(1));
        check();
      }
    });
    server.Go("yielder", [&] {
      ++started;
      while (true) {
        // Mostly runnable; the sleep lets virtual time move on (a task that
        // only yields would keep the clock from ever reaching a timer).
        for (int i = 0; i < 50; ++i) {
          lab::Yield();
          check();
        }
        lab::SleepFor(absl::Microseconds(10));
        check();
      }
    });
    server.Go("locker", [&] {
      ++started;
      while (true) {
        {
          lab::MutexLock l(&mu);
          check();
        }
        lab::SleepFor(absl::Microseconds(50));
        check();
      }
    });
    server.Go("waiter", [&] {
      ++started;
      lab::MutexLock l(&mu);
      while (true) {
        cv.Wait(&mu);
        check();
      }
    });
    server.Go("receiver", [&] {
      ++started;
      while (true) {
        ch.Recv();
        check();
      }
    });
    // Let them all reach their loops.
    while (started < 5) lab::SleepFor(absl::Microseconds(100));
    lab::SleepFor(absl::Milliseconds(5));

    // Put each victim in a different state, then kill without yielding in
    // between. Hold the mutex: the locker queues on it, and the waiter, once
    // notified, queues on it to re-acquire it.
    mu.lock();
    cv.NotifyAll();
    lab::SleepFor(absl::Milliseconds(2));
    ch.Send(7);   // handed to the blocked receiver, which is now runnable
    mu.unlock();  // handed to the first queued task, now runnable
    server.Kill();
    kill_returned = true;
    server.Go("after-kill", [&] { ++never_started_ran; });

    // Give the victims every chance to misbehave.
    for (int i = 0; i < 100; ++i) lab::Yield();
    lab::SleepFor(absl::Milliseconds(10));
    EXPECT_TRUE(server.Join(absl::Seconds(1)));
    EXPECT_EQ(server.live(), 0);
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(started, 5);
  EXPECT_TRUE(ran_after_kill.empty())
      << "ran after Kill() returned: " << absl::StrJoin(ran_after_kill, ", ");
  EXPECT_EQ(never_started_ran, 0);
}

// ---------------------------------------------------------------------------
// Scale

TEST(SimScale, TenThousandSleepingTasksAllFinish) {
  // 10k fibers, each sleeping a few random times: every one finishes, and the
  // whole run is quick because time is virtual. (ThreadSanitizer cannot map
  // the per-fiber state for 10k live fibers: fewer there.)
  const int kTasks = kTsan ? 1000 : 10000;
  const Clock::time_point real_start = Clock::now();
  int finished = 0;
  absl::Duration last;
  absl::Status status = RunWorld(lab::RuntimeKind::kSim, TestSeed(), [&] {
    const absl::Time t0 = lab::Now();
    lab::TaskGroup crowd("crowd");
    for (int i = 0; i < kTasks; ++i) {
      crowd.Go(absl::StrCat("sleeper-", i), [&] {
        for (int k = 0; k < 3; ++k) lab::SleepFor(absl::Milliseconds(lab::RandInt(1, 1000)));
        ++finished;
        last = std::max(last, lab::Now() - t0);
      });
    }
    EXPECT_TRUE(crowd.Join(absl::Hours(1)));
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(finished, kTasks);
  EXPECT_LE(last, absl::Milliseconds(3 * 999));
  EXPECT_GE(last, absl::Milliseconds(3));
  EXPECT_LT(SecondsSince(real_start), 20.0);
}

// All fibers share one OS thread, but C++'s exception state (what
// std::uncaught_exceptions() counts, the exceptions being handled) belongs to
// each task: a task that switches out while it unwinds must not make another
// task look as if it were unwinding too (which, among other things, made a
// killed task's waits uninterruptible).
TEST(SimExceptions, EachTaskHasItsOwnExceptionState) {
  bool a_unwinding = false;
  int seen_by_a = -1;
  int seen_by_b = -1;
  absl::Status status = lab::testing::RunWorld(lab::RuntimeKind::kSim, 1, [&] {
    lab::TaskGroup tasks("tasks");
    tasks.Go("a", [&] {
      struct SlowDestructor {
        bool* unwinding;
        int* seen;
        ~SlowDestructor() {
          *unwinding = true;
          for (int i = 0; i < 20; ++i) lab::Yield();  // others run mid-unwind
          *seen = std::uncaught_exceptions();
        }
      };
      try {
        SlowDestructor d{&a_unwinding, &seen_by_a};
        throw std::runtime_error("unwind");
      } catch (const std::runtime_error&) {
      }
    });
    tasks.Go("b", [&] {
      while (!a_unwinding) lab::Yield();
      seen_by_b = std::uncaught_exceptions();
      // And b, not unwinding, can still be stopped: a wait it starts now is
      // interruptible.
      lab::Chan<int> never;
      try {
        lab::Go("killer", [&] { tasks.Kill(); });
        never.Recv();
      } catch (const lab::TaskKilled&) {
        seen_by_b += 100;  // marks "was interrupted"
        throw;
      }
    });
    EXPECT_TRUE(tasks.Join(absl::Seconds(10)));
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(seen_by_a, 1) << "a should see its own exception in flight";
  EXPECT_EQ(seen_by_b, 100) << "b saw a's exception as its own, or was not interrupted";
}

}  // namespace
