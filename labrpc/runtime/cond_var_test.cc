// labrpc/runtime/cond_var_test.cc
//
// Tests of lab::CondVar (cond_var.h), each body run under both runtimes
// (CondVarTest/threads, CondVarTest/sim).
//
// Timeouts: in sim exact virtual time; in threads at least the timeout, with
// generous slack upward (loaded 2-core machines).

#include <atomic>
#include <memory>
#include <deque>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

namespace lab {
namespace {

// Slack allowed above a timeout in threads.
constexpr absl::Duration kSlack = absl::Seconds(5);

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

class CondVarTest : public testing::RuntimeTest {
 protected:
  // Starts `n` tasks that each wait once on cv_ (no predicate) and count
  // themselves in woken_ when the wait returns; returns once all are
  // waiting.
  void StartWaiters(int n) {
    for (int i = 0; i < n; ++i) {
      Go("waiter-" + std::to_string(i), [this] {
        MutexLock l(&mu_);
        ++waiting_;
        cv_.Wait(&mu_);
        --waiting_;
        woken_.fetch_add(1);
      });
    }
    // A waiter counted in waiting_ has released mu_ only by waiting.
    EXPECT_TRUE(Eventually([&] {
      MutexLock l(&mu_);
      return waiting_ == n;
    }));
  }

  Mutex mu_;
  CondVar cv_;              // notified by the test body
  int waiting_ = 0;         // guarded by mu_
  std::atomic<int> woken_{0};
};

// Note: cond_var.h allows spurious wake-ups, but neither implementation has
// any (a Wait returns only when notified, timed out or killed). The tests
// that count wake-ups rely on that.

TEST_P(CondVarTest, NotifyOneWakesOneWaiter) {
  RunInWorld([&] {
    // Three tasks wait; one NotifyOne lets exactly one of them go.
    StartWaiters(3);
    cv_.NotifyOne();
    EXPECT_TRUE(Eventually([&] { return woken_.load() >= 1; }));
    lab::SleepFor(absl::Milliseconds(50));
    EXPECT_EQ(woken_.load(), 1);
    // Each further NotifyOne lets one more go.
    cv_.NotifyOne();
    EXPECT_TRUE(Eventually([&] { return woken_.load() >= 2; }));
    lab::SleepFor(absl::Milliseconds(50));
    EXPECT_EQ(woken_.load(), 2);
    cv_.NotifyOne();
    EXPECT_TRUE(Eventually([&] { return woken_.load() == 3; }));
  });
}

TEST_P(CondVarTest, NotifyAllWakesAllWaiters) {
  RunInWorld([&] {
    // Five tasks wait; one NotifyAll lets every one of them go.
    StartWaiters(5);
    cv_.NotifyAll();
    EXPECT_TRUE(Eventually([&] { return woken_.load() == 5; }));
    MutexLock l(&mu_);
    EXPECT_EQ(waiting_, 0);
  });
}

TEST_P(CondVarTest, NotifyWithNoWaiterIsNotRemembered) {
  RunInWorld([&] {
    // A notification with nobody waiting is lost: a later wait still times
    // out.
    cv_.NotifyOne();
    cv_.NotifyAll();
    MutexLock l(&mu_);
    EXPECT_FALSE(cv_.WaitFor(&mu_, absl::Milliseconds(30)));
  });
}

TEST_P(CondVarTest, WaitForTimesOutAfterTheTimeout) {
  RunInWorld([&] {
    // Nobody notifies: WaitFor returns false after the timeout, with the
    // mutex held again.
    std::unique_lock<Mutex> l(mu_);
    const absl::Time start = Now();
    const bool notified = cv_.WaitFor(l, absl::Milliseconds(100));
    const absl::Duration waited = Now() - start;
    EXPECT_FALSE(notified);
    EXPECT_TRUE(l.owns_lock());
    if (sim()) {
      EXPECT_EQ(waited, absl::Milliseconds(100));
    } else {
      EXPECT_GE(waited, absl::Milliseconds(100));
      EXPECT_LT(waited, absl::Milliseconds(100) + kSlack);
    }
    l.unlock();
    // Held again really means held: another task could not take it, and
    // can once main unlocks.
    std::atomic<int> got{-1};
    Go("prober", [&] {
      if (mu_.try_lock()) {
        mu_.unlock();
        got.store(1);
      } else {
        got.store(0);
      }
    });
    EXPECT_TRUE(Eventually([&] { return got.load() != -1; }));
    EXPECT_EQ(got.load(), 1);
  });
}

TEST_P(CondVarTest, WaitForHoldsTheMutexWhenItReturns) {
  std::atomic<int> probe{-1};
  RunInWorld([&] {
    // While main is between a timed-out WaitFor and its unlock, another
    // task's try_lock fails.
    std::unique_lock<Mutex> l(mu_);
    EXPECT_FALSE(cv_.WaitFor(l, absl::Milliseconds(20)));
    Go("prober", [&] {
      if (mu_.try_lock()) {
        mu_.unlock();
        probe.store(1);
      } else {
        probe.store(0);
      }
    });
    // Sleep with the mutex held so the prober runs meanwhile.
    const absl::Time deadline = Now() + absl::Seconds(10);
    while (probe.load() == -1 && Now() < deadline) lab::SleepFor(absl::Milliseconds(1));
    EXPECT_EQ(probe.load(), 0);
  });
}

TEST_P(CondVarTest, WaitUntilAPastDeadlineReturnsFalseAtOnce) {
  RunInWorld([&] {
    MutexLock l(&mu_);
    const absl::Time start = Now();
    EXPECT_FALSE(cv_.WaitUntil(&mu_, start - absl::Seconds(1)));
    EXPECT_FALSE(cv_.WaitFor(&mu_, absl::ZeroDuration()));
    if (sim()) {
      EXPECT_EQ(Now(), start);
    } else {
      EXPECT_LT(Now() - start, kSlack);
    }
  });
}

TEST_P(CondVarTest, WaitForReturnsTrueWhenNotifiedBeforeTheTimeout) {
  bool ready = false;  // guarded by mu_
  RunInWorld([&] {
    // A task sets `ready` after 20ms and notifies; main, waiting up to 10s,
    // wakes then with true.
    const absl::Time start = Now();
    Go("notifier", [&] {
      lab::SleepFor(absl::Milliseconds(20));
      MutexLock l(&mu_);
      ready = true;
      cv_.NotifyOne();
    });
    std::unique_lock<Mutex> l(mu_);
    bool notified = false;
    while (!ready) {
      notified = cv_.WaitFor(l, absl::Seconds(10));
      if (!notified) break;
    }
    const absl::Duration waited = Now() - start;
    EXPECT_TRUE(notified);
    EXPECT_TRUE(ready);
    if (sim()) {
      EXPECT_EQ(waited, absl::Milliseconds(20));
    } else {
      EXPECT_GE(waited, absl::Milliseconds(20));
      EXPECT_LT(waited, absl::Seconds(10));
    }
  });
}

TEST_P(CondVarTest, ProducerConsumerWithPredicateLoop) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 2;
  constexpr int kPerProducer = 200;
  constexpr size_t kCapacity = 4;
  Mutex mu;
  CondVar not_full;   // notified by consumers when they take an item
  CondVar not_empty;  // notified by producers when they add an item, and at the end
  std::deque<int> queue;             // guarded by mu
  int producers_left = kProducers;   // guarded by mu
  std::vector<int> taken(kProducers * kPerProducer, 0);  // guarded by mu
  std::atomic<int> consumers_done{0};
  RunInWorld([&] {
    // A bounded queue between producers and consumers, each side waiting
    // in a loop on its condition: every item is taken exactly once and the
    // queue never overflows.
    for (int p = 0; p < kProducers; ++p) {
      Go("producer-" + std::to_string(p), [&, p] {
        for (int i = 0; i < kPerProducer; ++i) {
          std::unique_lock<Mutex> l(mu);
          while (queue.size() >= kCapacity) not_full.Wait(l);
          queue.push_back(p * kPerProducer + i);
          EXPECT_LE(queue.size(), kCapacity);
          not_empty.NotifyOne();
        }
        MutexLock l(&mu);
        if (--producers_left == 0) not_empty.NotifyAll();
      });
    }
    for (int c = 0; c < kConsumers; ++c) {
      Go("consumer-" + std::to_string(c), [&] {
        while (true) {
          std::unique_lock<Mutex> l(mu);
          while (queue.empty() && producers_left > 0) not_empty.Wait(l);
          if (queue.empty()) break;
          ++taken[queue.front()];
          queue.pop_front();
          not_full.NotifyOne();
          if (RandInt(0, 4) == 0) {
            l.unlock();
            Yield();
          }
        }
        consumers_done.fetch_add(1);
      });
    }
    EXPECT_TRUE(Eventually([&] { return consumers_done.load() == kConsumers; },
                           absl::Seconds(60)));
    MutexLock l(&mu);
    for (size_t i = 0; i < taken.size(); ++i) EXPECT_EQ(taken[i], 1) << "item " << i;
    EXPECT_TRUE(queue.empty());
  });
}

// A notifier may destroy a condition variable as soon as it has notified
// it: the woken waiter must not touch the CondVar again (ASan catches a
// regression here). The mutex stays, since the waiter re-acquires it.
TEST_P(CondVarTest, NotifierMayDestroyTheCondVarRightAfterNotify) {
  RunInWorld([] {
    for (int i = 0; i < 50; ++i) {
      auto mu = std::make_unique<lab::Mutex>();
      auto cv = std::make_unique<lab::CondVar>();
      bool ready = false;
      std::atomic<bool> woke{false};
      lab::TaskGroup waiters("waiters");
      waiters.Go("waiter", [m = mu.get(), c = cv.get(), &ready, &woke] {
        lab::MutexLock l(m);
        while (!ready) c->Wait(m);
        woke = true;
      });
      lab::SleepFor(absl::Milliseconds(1));  // the waiter is waiting
      {
        lab::MutexLock l(mu.get());
        ready = true;
        cv->NotifyAll();
        cv.reset();  // the waiter cannot have returned: it needs the mutex
      }
      EXPECT_TRUE(waiters.Join(absl::Seconds(10)));
      EXPECT_TRUE(woke.load());
    }
  });
}

LAB_INSTANTIATE_RUNTIME_TEST(CondVarTest);

}  // namespace
}  // namespace lab
