// labrpc/runtime/task_group_test.cc
//
// Tests of lab::TaskGroup (task_group.h): killing a group's tasks wherever
// they block, Scope, Join and the destructor. Each body runs under both
// runtimes (TaskGroupTest/threads, TaskGroupTest/sim); the tests named
// Sim... check what only sim promises (a killed task never runs again).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

namespace lab {
namespace {

constexpr absl::Duration kJoinTimeout = absl::Seconds(10);

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

// True if `fn` throws TaskKilled.
bool ThrowsTaskKilled(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const TaskKilled&) {
    return true;
  }
  return false;
}

// True if `mu` is free now (takes and releases it).
bool IsFree(Mutex& mu) {
  if (!mu.try_lock()) return false;
  mu.unlock();
  return true;
}

class TaskGroupTest : public testing::RuntimeTest {
 protected:
  // With one task of `group` about to block (it set started_ just before
  // its blocking call): kills the group and expects the task to end without
  // running the statement after its blocking call (which sets after_), its
  // stack unwound (unwound_).
  void KillAndExpectStopped(TaskGroup& group, absl::Duration join_timeout = kJoinTimeout) {
    EXPECT_TRUE(Eventually([&] { return started_.load(); }));
    lab::SleepFor(absl::Milliseconds(20));  // let it block
    EXPECT_EQ(group.live(), 1);
    EXPECT_FALSE(group.killed());
    group.Kill();
    EXPECT_TRUE(group.killed());
    EXPECT_TRUE(group.Join(join_timeout)) << "a killed task of \"" << group.name()
                                          << "\" did not end";
    EXPECT_EQ(group.live(), 0);
    EXPECT_FALSE(after_.load()) << "a killed task returned from its blocking call";
    EXPECT_EQ(unwound_.load(), 1);
  }

  std::atomic<bool> started_{false};
  std::atomic<bool> after_{false};
  std::atomic<int> unwound_{0};
};

TEST_P(TaskGroupTest, KillStopsTaskBlockedInSleep) {
  RunInWorld([&] {
    // A server's ticker sleeps for good; killing the server ends it.
    TaskGroup server("server");
    server.Go("sleeper", [&] {
      CountOnDestroy c(&unwound_);
      started_.store(true);
      lab::SleepFor(absl::Hours(1));
      after_.store(true);
    });
    KillAndExpectStopped(server);
  });
}

TEST_P(TaskGroupTest, KillStopsTaskBlockedInCondVarWait) {
  Mutex mu;
  CondVar cv;  // never notified while the waiter waits
  RunInWorld([&] {
    TaskGroup server("server");
    server.Go("waiter", [&] {
      CountOnDestroy c(&unwound_);
      std::unique_lock<Mutex> l(mu);
      started_.store(true);
      cv.Wait(l);
      after_.store(true);
    });
    KillAndExpectStopped(server);
    // The waiter unwound through its lock guard: the mutex is free, and the
    // CondVar no longer lists it (notifying it touches nothing freed).
    EXPECT_TRUE(IsFree(mu));
    cv.NotifyAll();
  });
}

TEST_P(TaskGroupTest, KillStopsTaskBlockedInChanRecv) {
  Chan<int> ch(1);
  RunInWorld([&] {
    TaskGroup server("server");
    server.Go("receiver", [&] {
      CountOnDestroy c(&unwound_);
      started_.store(true);
      ch.Recv();
      after_.store(true);
    });
    KillAndExpectStopped(server);
    // The dead receiver no longer waits on the channel: a value sent now
    // stays in the buffer for the next receiver.
    ch.Send(1);
    EXPECT_EQ(ch.TryRecv(), 1);
  });
}

TEST_P(TaskGroupTest, KillStopsTaskBlockedInChanSend) {
  Chan<int> ch;
  RunInWorld([&] {
    TaskGroup server("server");
    server.Go("sender", [&] {
      CountOnDestroy c(&unwound_);
      started_.store(true);
      ch.Send(1);
      after_.store(true);
    });
    KillAndExpectStopped(server);
    // The dead sender's value is withdrawn.
    EXPECT_EQ(ch.TryRecv(), std::nullopt);
  });
}

TEST_P(TaskGroupTest, KillStopsTaskBlockedInMutexLock) {
  Mutex mu;
  RunInWorld([&] {
    // main holds a mutex that a server task waits for; killing the server
    // must end the task without main unlocking (a crashed server's tasks
    // stop at once, whoever holds what they wait for).
    TaskGroup server("server");
    mu.lock();
    server.Go("locker", [&] {
      CountOnDestroy c(&unwound_);
      started_.store(true);
      mu.lock();
      after_.store(true);
      mu.unlock();
    });
    EXPECT_TRUE(Eventually([&] { return started_.load(); }));
    lab::SleepFor(absl::Milliseconds(20));
    server.Kill();
    const bool joined = server.Join(absl::Seconds(2));
    mu.unlock();
    EXPECT_TRUE(joined) << "a task killed while blocked in Mutex::lock did not end";
    EXPECT_TRUE(server.Join(kJoinTimeout));
    EXPECT_EQ(server.live(), 0);
    EXPECT_FALSE(after_.load()) << "a killed task got the mutex and ran on";
    EXPECT_EQ(unwound_.load(), 1);
    EXPECT_TRUE(IsFree(mu));
  });
}

TEST_P(TaskGroupTest, KillLeavesOtherGroupsRunning) {
  std::atomic<int> ticks_a{0};
  std::atomic<int> ticks_b{0};
  RunInWorld([&] {
    // Two servers tick; killing one stops only its ticker.
    TaskGroup a("server-a");
    TaskGroup b("server-b");
    a.Go("ticker", [&] {
      while (true) {
        lab::SleepFor(absl::Milliseconds(2));
        ticks_a.fetch_add(1);
      }
    });
    b.Go("ticker", [&] {
      while (true) {
        lab::SleepFor(absl::Milliseconds(2));
        ticks_b.fetch_add(1);
      }
    });
    EXPECT_TRUE(Eventually([&] { return ticks_a.load() > 3 && ticks_b.load() > 3; }));
    a.Kill();
    EXPECT_TRUE(a.Join(kJoinTimeout));
    const int a_at_kill = ticks_a.load();
    const int b_at_kill = ticks_b.load();
    EXPECT_TRUE(Eventually([&] { return ticks_b.load() > b_at_kill + 5; }));
    EXPECT_EQ(ticks_a.load(), a_at_kill);
    EXPECT_FALSE(b.killed());
    EXPECT_EQ(b.live(), 1);
  });
}

TEST_P(TaskGroupTest, GoIntoAKilledGroupStartsNothing) {
  std::atomic<int> ran{0};
  RunInWorld([&] {
    // A crashed server cannot start tasks: neither through the group nor
    // through a Scope on it.
    TaskGroup server("server");
    server.Kill();
    server.Go("late", [&] { ran.fetch_add(1); });
    {
      TaskGroup::Scope scope(server);
      Go("later", [&] { ran.fetch_add(1); });
    }
    EXPECT_EQ(server.live(), 0);
    lab::SleepFor(absl::Milliseconds(50));
    EXPECT_EQ(ran.load(), 0);
    EXPECT_TRUE(server.Join(absl::ZeroDuration()));
  });
}

TEST_P(TaskGroupTest, ScopeMakesGoStartTasksInTheGroup) {
  std::atomic<bool> parent_started{false};
  std::atomic<bool> child_started{false};
  std::atomic<int> group_unwound{0};
  std::atomic<bool> outside_started{false};
  std::atomic<bool> stop_outside{false};
  std::atomic<bool> outside_finished{false};
  RunInWorld([&] {
    // Inside a Scope, lab::Go starts tasks in the group, and the tasks they
    // start inherit it; after the Scope, lab::Go starts tasks as before.
    TaskGroup server("server");
    {
      TaskGroup::Scope scope(server);
      Go("parent", [&] {
        CountOnDestroy c(&group_unwound);
        Go("child", [&] {
          CountOnDestroy c(&group_unwound);
          child_started.store(true);
          lab::SleepFor(absl::Hours(1));
        });
        parent_started.store(true);
        lab::SleepFor(absl::Hours(1));
      });
    }
    Go("outside", [&] {
      outside_started.store(true);
      while (!stop_outside.load()) lab::SleepFor(absl::Milliseconds(1));
      outside_finished.store(true);
    });
    EXPECT_TRUE(Eventually([&] {
      return parent_started.load() && child_started.load() && outside_started.load();
    }));
    EXPECT_EQ(server.live(), 2);  // parent and child; not "outside"
    server.Kill();
    EXPECT_TRUE(server.Join(kJoinTimeout));
    EXPECT_EQ(group_unwound.load(), 2);
    // The task started outside the scope was not killed.
    lab::SleepFor(absl::Milliseconds(10));
    EXPECT_FALSE(outside_finished.load());
    stop_outside.store(true);
    EXPECT_TRUE(Eventually([&] { return outside_finished.load(); }));
  });
}

TEST_P(TaskGroupTest, ScopesNest) {
  RunInWorld([&] {
    // The innermost live Scope decides.
    TaskGroup outer("outer");
    TaskGroup inner("inner");
    {
      TaskGroup::Scope s1(outer);
      {
        TaskGroup::Scope s2(inner);
        Go("in-inner", [] { lab::SleepFor(absl::Hours(1)); });
      }
      Go("in-outer", [] { lab::SleepFor(absl::Hours(1)); });
      Go("in-outer-2", [] { lab::SleepFor(absl::Hours(1)); });
    }
    Go("in-main", [] { lab::SleepFor(absl::Hours(1)); });
    EXPECT_EQ(inner.live(), 1);
    EXPECT_EQ(outer.live(), 2);
    // The groups' destructors kill and join their tasks; "in-main" is
    // killed when the world ends.
  });
}

TEST_P(TaskGroupTest, JoinTimesOutWhileTasksRun) {
  RunInWorld([&] {
    // Join does not kill: with a task still sleeping it gives up after the
    // timeout.
    TaskGroup server("server");
    EXPECT_EQ(server.name(), "server");
    server.Go("sleeper", [] { lab::SleepFor(absl::Hours(1)); });
    const absl::Time start = Now();
    EXPECT_FALSE(server.Join(absl::Milliseconds(50)));
    const absl::Duration waited = Now() - start;
    EXPECT_GE(waited, absl::Milliseconds(50));
    if (sim()) {
      EXPECT_EQ(waited, absl::Milliseconds(50));
    }
    EXPECT_EQ(server.live(), 1);
    EXPECT_FALSE(server.killed());
  });
}

TEST_P(TaskGroupTest, DestructorKillsAndJoins) {
  std::atomic<int> started{0};
  std::atomic<int> unwound{0};
  Mutex mu;
  CondVar cv;  // never notified
  RunInWorld([&] {
    // Leaving the group's scope kills its tasks and waits until they have
    // unwound.
    const absl::Time start = Now();
    {
      TaskGroup server("server");
      server.Go("sleeper", [&] {
        CountOnDestroy c(&unwound);
        started.fetch_add(1);
        lab::SleepFor(absl::Hours(1));
      });
      server.Go("waiter", [&] {
        CountOnDestroy c(&unwound);
        MutexLock l(&mu);
        started.fetch_add(1);
        while (true) cv.Wait(&mu);
      });
      EXPECT_TRUE(Eventually([&] { return started.load() == 2; }));
    }
    EXPECT_EQ(unwound.load(), 2);
    if (sim()) {
      EXPECT_LT(Now() - start, absl::Seconds(1));
    } else {
      EXPECT_LT(Now() - start, absl::Seconds(30));
    }
  });
}

TEST_P(TaskGroupTest, SimKilledWaiterNeverReturnsFromANotifiedWait) {
  if (!sim()) GTEST_SKIP() << "in threads a notified task may run before the kill";
  Mutex mu;
  CondVar cv;          // notified by main
  bool ready = false;  // guarded by mu
  bool waiting = false;  // guarded by mu
  RunInWorld([&] {
    // main notifies a waiting server task and kills its server in the same
    // step (no scheduling point between): the task must never come out of
    // its wait, as if the server had crashed first.
    TaskGroup server("server");
    server.Go("waiter", [&] {
      CountOnDestroy c(&unwound_);
      std::unique_lock<Mutex> l(mu);
      waiting = true;
      while (!ready) cv.Wait(l);
      after_.store(true);
    });
    EXPECT_TRUE(Eventually([&] {
      MutexLock l(&mu);
      return waiting;
    }));
    {
      MutexLock l(&mu);
      ready = true;
      cv.NotifyOne();
    }
    server.Kill();
    EXPECT_TRUE(server.Join(kJoinTimeout));
    EXPECT_FALSE(after_.load());
    EXPECT_EQ(unwound_.load(), 1);
  });
}

TEST_P(TaskGroupTest, SimKilledReceiverNeverGetsAHandedValue) {
  if (!sim()) GTEST_SKIP() << "in threads a woken task may run before the kill";
  Chan<int> ch;
  RunInWorld([&] {
    // main hands a value to a blocked receiver and kills its server at
    // once: the receiver never returns from Recv (the value is lost, as
    // with a crashed receiver).
    TaskGroup server("server");
    server.Go("receiver", [&] {
      CountOnDestroy c(&unwound_);
      started_.store(true);
      ch.Recv();
      after_.store(true);
    });
    EXPECT_TRUE(Eventually([&] { return started_.load(); }));
    lab::SleepFor(absl::Milliseconds(1));
    ch.Send(42);  // returns once handed over
    server.Kill();
    EXPECT_TRUE(server.Join(kJoinTimeout));
    EXPECT_FALSE(after_.load());
    EXPECT_EQ(unwound_.load(), 1);
  });
}

TEST_P(TaskGroupTest, SimKilledLockerNeverGetsTheMutex) {
  if (!sim()) GTEST_SKIP() << "in threads a woken task may run before the kill";
  Mutex mu;
  RunInWorld([&] {
    // main unlocks a mutex a server task waits for and kills the server at
    // once: the task never holds the mutex, and its turn passes on.
    TaskGroup server("server");
    mu.lock();
    server.Go("locker", [&] {
      CountOnDestroy c(&unwound_);
      started_.store(true);
      MutexLock l(&mu);
      after_.store(true);
    });
    EXPECT_TRUE(Eventually([&] { return started_.load(); }));
    lab::SleepFor(absl::Milliseconds(1));
    mu.unlock();
    server.Kill();
    EXPECT_TRUE(server.Join(kJoinTimeout));
    EXPECT_FALSE(after_.load());
    EXPECT_EQ(unwound_.load(), 1);
    EXPECT_TRUE(IsFree(mu));
  });
}

// What happens to a task that catches TaskKilled and carries on (which lab
// code must not do): it is not revived. Every later blocking call throws
// TaskKilled again, so it cannot wait for anything; once it returns, it has
// ended like any killed task.
TEST_P(TaskGroupTest, SwallowedTaskKilledIsThrownAgainByEveryBlockingCall) {
  Mutex mu;
  CondVar cv;
  Chan<int> unbuffered;
  Chan<int> buffered(1);
  std::atomic<bool> caught{false};
  std::atomic<bool> still_killed{false};
  std::atomic<bool> sleep_throws{false}, zero_sleep_throws{false}, yield_throws{false},
      wait_throws{false}, recv_throws{false}, send_throws{false}, try_recv_throws{false};
  std::atomic<bool> finished{false};
  RunInWorld([&] {
    TaskGroup server("server");
    server.Go("stubborn", [&] {
      started_.store(true);
      try {
        lab::SleepFor(absl::Hours(1));
      } catch (const TaskKilled&) {
        caught.store(true);  // wrong, but let us see what follows
      }
      still_killed.store(Killed());
      sleep_throws.store(ThrowsTaskKilled([] { lab::SleepFor(absl::Milliseconds(1)); }));
      zero_sleep_throws.store(ThrowsTaskKilled([] { lab::SleepFor(absl::ZeroDuration()); }));
      yield_throws.store(ThrowsTaskKilled([] { Yield(); }));
      wait_throws.store(ThrowsTaskKilled([&] {
        std::unique_lock<Mutex> l(mu, std::try_to_lock);
        if (l.owns_lock()) cv.WaitFor(l, absl::Milliseconds(1));
      }));
      recv_throws.store(ThrowsTaskKilled([&] { buffered.Recv(); }));
      try_recv_throws.store(ThrowsTaskKilled([&] { buffered.TryRecv(); }));
      send_throws.store(ThrowsTaskKilled([&] { unbuffered.Send(1); }));
      finished.store(true);
    });
    EXPECT_TRUE(Eventually([&] { return started_.load(); }));
    lab::SleepFor(absl::Milliseconds(20));
    server.Kill();
    EXPECT_TRUE(server.Join(kJoinTimeout));
    EXPECT_TRUE(caught.load());
    EXPECT_TRUE(still_killed.load());
    EXPECT_TRUE(sleep_throws.load());
    EXPECT_TRUE(zero_sleep_throws.load());
    EXPECT_TRUE(yield_throws.load());
    EXPECT_TRUE(wait_throws.load());
    EXPECT_TRUE(recv_throws.load());
    EXPECT_TRUE(try_recv_throws.load());
    EXPECT_TRUE(send_throws.load());
    EXPECT_TRUE(finished.load());
  });
}

TEST_P(TaskGroupTest, KilledTaskGetsTaskKilledFromMutexLock) {
  // runtime.h: a killed task "gets a lab::TaskKilled exception from its next
  // blocking call (sleep, lock, wait, send, receive, yield)": lock included,
  // even of a free mutex.
  Mutex mu;
  std::atomic<bool> lock_throws{false};
  std::atomic<bool> finished{false};
  RunInWorld([&] {
    TaskGroup server("server");
    server.Go("stubborn", [&] {
      started_.store(true);
      try {
        lab::SleepFor(absl::Hours(1));
      } catch (const TaskKilled&) {
      }
      lock_throws.store(ThrowsTaskKilled([&] {
        mu.lock();
        mu.unlock();
      }));
      finished.store(true);
    });
    EXPECT_TRUE(Eventually([&] { return started_.load(); }));
    lab::SleepFor(absl::Milliseconds(20));
    server.Kill();
    EXPECT_TRUE(server.Join(kJoinTimeout));
    EXPECT_TRUE(finished.load());
    EXPECT_TRUE(lock_throws.load());
  });
}

TEST_P(TaskGroupTest, TaskThatNeverEndsAfterKillStopsTheProcess) {
  // A task that swallows TaskKilled in a loop cannot be stopped: the
  // group's destructor gives up after shutdown_grace (threads), or the
  // busy-loop watchdog fires (sim: the loop never blocks, since every
  // blocking call throws at once); either way the process exits with code 3
  // and names the task.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const RuntimeKind kind = runtime();
  EXPECT_EXIT(
      {
        WorldOptions options = testing::TestOptions(kind, testing::TestSeed());
        options.shutdown_grace = absl::Milliseconds(300);
        options.busy_limit = absl::Milliseconds(500);
        World world(options);
        absl::Status status = world.Run([] {
          TaskGroup server("server");
          server.Go("stubborn", [] {
            while (true) {
              try {
                lab::SleepFor(absl::Milliseconds(1));
              } catch (const TaskKilled&) {
              }
            }
          });
          lab::SleepFor(absl::Milliseconds(10));
        });
        std::fprintf(stderr, "Run returned: %s\n", status.ToString().c_str());
        std::exit(0);
      },
      ::testing::ExitedWithCode(kStuckTaskExitCode), "stubborn");
}

TEST_P(TaskGroupTest, JoinFromOneOfItsOwnTasksAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(RunInWorld([] {
                 TaskGroup server("server");
                 server.Go("self-joiner", [&server] { server.Join(absl::Seconds(1)); });
                 lab::SleepFor(absl::Seconds(5));
               }),
               "would wait forever");
}

LAB_INSTANTIATE_RUNTIME_TEST(TaskGroupTest);

}  // namespace
}  // namespace lab
