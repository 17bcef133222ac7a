// labrpc/runtime/mutex_test.cc
//
// Tests of lab::Mutex and lab::MutexLock (mutex.h), each body run under both
// runtimes (MutexTest/threads, MutexTest/sim).

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

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

// Whether `mu` is held now, as another task finds with try_lock.
bool HeldByAnother(Mutex& mu) {
  auto answer = std::make_shared<std::atomic<int>>(-1);
  Go("probe", [&mu, answer] {
    if (mu.try_lock()) {
      mu.unlock();
      answer->store(0);
    } else {
      answer->store(1);
    }
  });
  EXPECT_TRUE(Eventually([&] { return answer->load() != -1; }));
  return answer->load() == 1;
}

// Unlocks `mu` whether held or not: breaks the rule on purpose, out of the
// thread-safety analysis's sight.
void UnlockUnchecked(Mutex& mu) ABSL_NO_THREAD_SAFETY_ANALYSIS { mu.unlock(); }

class MutexTest : public testing::RuntimeTest {};

TEST_P(MutexTest, MutualExclusionUnderContention) {
  constexpr int kTasks = 8;
  constexpr int kIncrements = 100;
  Mutex mu;
  int counter = 0;                 // guarded by mu, but updated non-atomically
  std::atomic<int> inside{0};      // tasks inside the critical section now
  std::atomic<int> max_inside{0};  // the most ever seen there at once
  std::atomic<int> finished{0};
  RunInWorld([&] {
    // Tasks increment a counter by read, yield (or sleep), write: a lost
    // update or two tasks inside at once would show if the mutex let them.
    for (int t = 0; t < kTasks; ++t) {
      Go("incr-" + std::to_string(t), [&] {
        for (int i = 0; i < kIncrements; ++i) {
          MutexLock l(&mu);
          const int now_inside = inside.fetch_add(1) + 1;
          int seen = max_inside.load();
          while (now_inside > seen && !max_inside.compare_exchange_weak(seen, now_inside)) {
          }
          const int read = counter;
          if (i % 10 == 0) {
            lab::SleepFor(absl::Microseconds(100));
          } else {
            Yield();
          }
          counter = read + 1;
          inside.fetch_sub(1);
        }
        finished.fetch_add(1);
      });
    }
    EXPECT_TRUE(Eventually([&] { return finished.load() == kTasks; }, absl::Seconds(60)));
    MutexLock l(&mu);
    EXPECT_EQ(counter, kTasks * kIncrements);
    EXPECT_EQ(max_inside.load(), 1);
  });
}

TEST_P(MutexTest, LockWaitsForUnlock) {
  Mutex mu;
  std::atomic<bool> started{false};
  std::atomic<bool> acquired{false};
  absl::Time acquired_at;  // written by the locker before `acquired`
  RunInWorld([&] {
    // main holds the mutex; a task asking for it must wait until main
    // unlocks, however long that takes.
    mu.lock();
    Go("locker", [&] {
      started.store(true);
      MutexLock l(&mu);
      acquired_at = Now();
      acquired.store(true);
    });
    EXPECT_TRUE(Eventually([&] { return started.load(); }));
    const absl::Time start = Now();
    lab::SleepFor(absl::Milliseconds(50));
    EXPECT_FALSE(acquired.load());
    mu.unlock();
    EXPECT_TRUE(Eventually([&] { return acquired.load(); }));
    EXPECT_GE(acquired_at - start, absl::Milliseconds(50));
    // In sim the locker gets the mutex at the instant main unlocks.
    if (sim()) {
      EXPECT_EQ(acquired_at - start, absl::Milliseconds(50));
    }
  });
}

TEST_P(MutexTest, TryLock) {
  Mutex mu;
  std::atomic<int> step{0};
  std::atomic<bool> got_while_held{true};
  std::atomic<bool> after_unlock{false};
  RunInWorld([&] {
    // try_lock fails at once while another task holds the mutex, and
    // succeeds once it is free.
    if (!mu.try_lock()) {
      ADD_FAILURE() << "try_lock of a free mutex failed";
      return;
    }
    Go("trier", [&] {
      if (mu.try_lock()) {
        mu.unlock();
      } else {
        got_while_held.store(false);
      }
      step.store(1);
      while (step.load() != 2) lab::SleepFor(absl::Milliseconds(1));
      if (mu.try_lock()) {
        mu.unlock();
        after_unlock.store(true);
      }
      step.store(3);
    });
    EXPECT_TRUE(Eventually([&] { return step.load() == 1; }));
    EXPECT_FALSE(got_while_held.load());
    mu.unlock();
    step.store(2);
    EXPECT_TRUE(Eventually([&] { return step.load() == 3; }));
    EXPECT_TRUE(after_unlock.load());
  });
}

TEST_P(MutexTest, WorksWithStdLockGuardAndUniqueLock) {
  Mutex mu;
  std::atomic<bool> held_seen{false};
  std::atomic<bool> free_seen{false};
  RunInWorld([&] {
    auto held = [&] { return HeldByAnother(mu); };
    {
      std::lock_guard<Mutex> g(mu);
      held_seen.store(held());
    }
    free_seen.store(!held());
    EXPECT_TRUE(held_seen.load());
    EXPECT_TRUE(free_seen.load());

    // unique_lock: deferred, try_to_lock, manual unlock and relock.
    std::unique_lock<Mutex> l(mu, std::defer_lock);
    EXPECT_FALSE(l.owns_lock());
    EXPECT_FALSE(held());
    l.lock();
    EXPECT_TRUE(l.owns_lock());
    EXPECT_TRUE(held());
    l.unlock();
    EXPECT_FALSE(held());
    std::unique_lock<Mutex> l2(mu, std::try_to_lock);
    EXPECT_TRUE(l2.owns_lock());
    EXPECT_TRUE(held());
    l2.unlock();
    EXPECT_FALSE(held());
  });
}

TEST_P(MutexTest, StdScopedLockTakesTwoMutexesWithoutDeadlock) {
  Mutex a, b;
  int both = 0;  // guarded by a and b
  std::atomic<int> finished{0};
  RunInWorld([&] {
    // Two tasks lock the same pair in opposite orders; std::scoped_lock
    // (std::lock: lock one, try_lock the other, back off) must not deadlock.
    Go("ab", [&] {
      for (int i = 0; i < 200; ++i) {
        std::scoped_lock l(a, b);
        ++both;
        Yield();
      }
      finished.fetch_add(1);
    });
    Go("ba", [&] {
      for (int i = 0; i < 200; ++i) {
        std::scoped_lock l(b, a);
        ++both;
        Yield();
      }
      finished.fetch_add(1);
    });
    EXPECT_TRUE(Eventually([&] { return finished.load() == 2; }, absl::Seconds(60)));
    std::scoped_lock l(a, b);
    EXPECT_EQ(both, 400);
  });
}

TEST_P(MutexTest, MutexLockHoldsForItsScope) {
  Mutex mu;
  RunInWorld([&] {
    auto held = [&] { return HeldByAnother(mu); };
    {
      MutexLock l(&mu);
      EXPECT_TRUE(held());
    }
    EXPECT_FALSE(held());
    // Lock()/Unlock() are the same as lock()/unlock().
    mu.Lock();
    EXPECT_TRUE(held());
    mu.Unlock();
    EXPECT_FALSE(held());
  });
}

TEST_P(MutexTest, HandsOffToEveryWaiter) {
  constexpr int kWaiters = 20;
  Mutex mu;
  std::atomic<int> got{0};
  RunInWorld([&] {
    // Many tasks queue behind main's lock; one unlock must eventually let
    // all of them through, one at a time.
    mu.lock();
    for (int i = 0; i < kWaiters; ++i) {
      Go("w" + std::to_string(i), [&] {
        MutexLock l(&mu);
        got.fetch_add(1);
      });
    }
    lab::SleepFor(absl::Milliseconds(20));
    EXPECT_EQ(got.load(), 0);
    mu.unlock();
    EXPECT_TRUE(Eventually([&] { return got.load() == kWaiters; }));
  });
}

TEST_P(MutexTest, UnlockOfAnUnlockedMutexAborts) {
  // In threads this is undefined behaviour of the OS mutex; sim checks it.
  if (!sim()) GTEST_SKIP() << "only sim checks this";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(RunInWorld([] {
                 Mutex mu;
                 UnlockUnchecked(mu);
               }),
               "unlock of a mutex that is not locked");
}

LAB_INSTANTIATE_RUNTIME_TEST(MutexTest);

}  // namespace
}  // namespace lab
