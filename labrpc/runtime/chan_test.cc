// labrpc/runtime/chan_test.cc
//
// Tests of lab::Chan (chan.h), each body run under both runtimes
// (ChanTest/threads, ChanTest/sim).

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
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

class ChanTest : public testing::RuntimeTest {};

TEST_P(ChanTest, UnbufferedSendWaitsForReceiver) {
  Chan<int> ch;
  std::atomic<bool> sent{false};
  absl::Duration send_returned_after;
  RunInWorld([&] {
    // The receiver sleeps 100ms before its Recv: the sender's Send cannot
    // return before then.
    const absl::Time start = Now();
    Go("sender", [&] {
      ch.Send(7);
      send_returned_after = Now() - start;
      sent.store(true);
    });
    lab::SleepFor(absl::Milliseconds(100));
    EXPECT_FALSE(sent.load());
    EXPECT_EQ(ch.Recv(), 7);
    EXPECT_TRUE(Eventually([&] { return sent.load(); }));
    EXPECT_GE(send_returned_after, absl::Milliseconds(100));
    if (sim()) {
      EXPECT_EQ(send_returned_after, absl::Milliseconds(100));
    }
  });
}

TEST_P(ChanTest, UnbufferedRecvWaitsForSender) {
  Chan<int> ch;
  RunInWorld([&] {
    // The sender sleeps 100ms before its Send: Recv returns only then.
    const absl::Time start = Now();
    Go("sender", [&] {
      lab::SleepFor(absl::Milliseconds(100));
      ch.Send(8);
    });
    EXPECT_EQ(ch.Recv(), 8);
    const absl::Duration waited = Now() - start;
    EXPECT_GE(waited, absl::Milliseconds(100));
    if (sim()) {
      EXPECT_EQ(waited, absl::Milliseconds(100));
    }
  });
}

TEST_P(ChanTest, BufferedSendBlocksOnlyWhenFull) {
  Chan<int> ch(2);
  std::atomic<int> sent{0};
  absl::Duration two_sent_after;  // written by the sender before sent = 2
  RunInWorld([&] {
    // With room for two, a sender with three values gets two in at once and
    // waits with the third until a receiver makes room.
    EXPECT_EQ(ch.capacity(), 2u);
    const absl::Time start = Now();
    Go("sender", [&] {
      for (int i = 1; i <= 3; ++i) {
        ch.Send(i);
        if (i == 2) two_sent_after = Now() - start;
        sent.store(i);
      }
    });
    EXPECT_TRUE(Eventually([&] { return sent.load() >= 2; }));
    if (sim()) {
      EXPECT_EQ(two_sent_after, absl::ZeroDuration());  // no waiting
    }
    lab::SleepFor(absl::Milliseconds(50));
    EXPECT_EQ(sent.load(), 2);
    EXPECT_EQ(ch.size(), 2u);
    EXPECT_EQ(ch.Recv(), 1);
    EXPECT_TRUE(Eventually([&] { return sent.load() == 3; }));
    EXPECT_EQ(ch.size(), 2u);
    EXPECT_EQ(ch.Recv(), 2);
    EXPECT_EQ(ch.Recv(), 3);
    EXPECT_EQ(ch.size(), 0u);
  });
}

TEST_P(ChanTest, BufferedChannelKeepsFifoOrder) {
  Chan<int> ch(100);
  RunInWorld([&] {
    // One task sends 0..99 without blocking; they come out in order.
    for (int i = 0; i < 100; ++i) ch.Send(i);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(ch.Recv(), i);
  });
}

TEST_P(ChanTest, FifoOrderFromOneSenderThroughSmallBuffers) {
  for (size_t capacity : {0u, 1u, 3u}) {
    Chan<int> ch(capacity);
    RunInWorld([&] {
      // One sender, one receiver, values in order whatever blocks when.
      Go("sender", [&] {
        for (int i = 0; i < 200; ++i) {
          ch.Send(i);
          if (RandInt(0, 5) == 0) Yield();
        }
        ch.Close();
      });
      int expected = 0;
      while (std::optional<int> v = ch.Recv()) {
        EXPECT_EQ(*v, expected) << "capacity " << capacity;
        ++expected;
      }
      EXPECT_EQ(expected, 200) << "capacity " << capacity;
    });
  }
}

TEST_P(ChanTest, CloseWakesBlockedReceiversWithNullopt) {
  constexpr int kReceivers = 3;
  Chan<int> ch;
  std::atomic<int> started{0};
  std::atomic<int> got_nullopt{0};
  std::atomic<int> got_value{0};
  RunInWorld([&] {
    // Receivers block on an empty channel; Close wakes each with nullopt.
    for (int i = 0; i < kReceivers; ++i) {
      Go("receiver-" + std::to_string(i), [&] {
        started.fetch_add(1);
        if (ch.Recv().has_value()) {
          got_value.fetch_add(1);
        } else {
          got_nullopt.fetch_add(1);
        }
      });
    }
    EXPECT_TRUE(Eventually([&] { return started.load() == kReceivers; }));
    lab::SleepFor(absl::Milliseconds(20));  // so they are blocked in Recv
    EXPECT_EQ(got_nullopt.load(), 0);
    ch.Close();
    EXPECT_TRUE(Eventually([&] { return got_nullopt.load() == kReceivers; }));
    EXPECT_EQ(got_value.load(), 0);
    // Later receives return nullopt at once.
    EXPECT_EQ(ch.Recv(), std::nullopt);
    EXPECT_TRUE(ch.closed());
  });
}

TEST_P(ChanTest, BufferedValuesAreReceivedAfterClose) {
  Chan<std::string> ch(3);
  RunInWorld([&] {
    // Values sent before Close still come out, then nullopt for good.
    ch.Send("a");
    ch.Send("b");
    EXPECT_FALSE(ch.closed());
    ch.Close();
    EXPECT_TRUE(ch.closed());
    EXPECT_EQ(ch.Recv(), "a");
    EXPECT_EQ(ch.TryRecv(), "b");
    EXPECT_EQ(ch.Recv(), std::nullopt);
    EXPECT_EQ(ch.Recv(), std::nullopt);
    EXPECT_EQ(ch.TryRecv(), std::nullopt);
  });
}

TEST_P(ChanTest, TryRecvReturnsAReadyValueOrNullopt) {
  Chan<int> buffered(2);
  Chan<int> unbuffered;
  std::atomic<bool> sender_done{false};
  RunInWorld([&] {
    // Empty: nullopt at once, without blocking.
    const absl::Time start = Now();
    EXPECT_EQ(buffered.TryRecv(), std::nullopt);
    EXPECT_EQ(unbuffered.TryRecv(), std::nullopt);
    if (sim()) {
      EXPECT_EQ(Now(), start);
    }
    // A buffered value is ready.
    buffered.Send(5);
    EXPECT_EQ(buffered.TryRecv(), 5);
    EXPECT_EQ(buffered.TryRecv(), std::nullopt);
    // Unbuffered: a sender blocked in Send has a value ready; taking it
    // lets the sender go.
    Go("sender", [&] {
      unbuffered.Send(6);
      sender_done.store(true);
    });
    std::optional<int> v;
    EXPECT_TRUE(Eventually([&] { return (v = unbuffered.TryRecv()).has_value(); }));
    EXPECT_EQ(v, 6);
    EXPECT_TRUE(Eventually([&] { return sender_done.load(); }));
  });
}

TEST_P(ChanTest, ManyProducersAndConsumersMoveEveryValueOnce) {
  constexpr int kProducers = 4;
  constexpr int kConsumers = 3;
  constexpr int kPerProducer = 250;
  for (size_t capacity : {0u, 5u}) {
    Chan<int> ch(capacity);
    Mutex mu;
    int producers_left = kProducers;  // guarded by mu
    std::vector<std::vector<int>> received(kConsumers);
    std::atomic<int> consumers_done{0};
    RunInWorld([&] {
      // Producers send distinct values; the last one to finish closes the
      // channel; consumers drain it. Every value arrives exactly once.
      for (int p = 0; p < kProducers; ++p) {
        Go("producer-" + std::to_string(p), [&, p] {
          for (int i = 0; i < kPerProducer; ++i) ch.Send(p * kPerProducer + i);
          MutexLock l(&mu);
          if (--producers_left == 0) ch.Close();
        });
      }
      for (int c = 0; c < kConsumers; ++c) {
        Go("consumer-" + std::to_string(c), [&, c] {
          while (std::optional<int> v = ch.Recv()) received[c].push_back(*v);
          consumers_done.fetch_add(1);
        });
      }
      EXPECT_TRUE(Eventually([&] { return consumers_done.load() == kConsumers; },
                             absl::Seconds(60)));
    });
    std::vector<int> all;
    for (const auto& r : received) all.insert(all.end(), r.begin(), r.end());
    std::sort(all.begin(), all.end());
    std::vector<int> expected(kProducers * kPerProducer);
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i);
    EXPECT_EQ(all, expected) << "capacity " << capacity;
  }
}

TEST_P(ChanTest, MoveOnlyValues) {
  Chan<std::unique_ptr<int>> unbuffered;
  Chan<std::unique_ptr<int>> buffered(2);
  RunInWorld([&] {
    // unique_ptr goes through both kinds of channel, by move.
    Go("sender", [&] {
      unbuffered.Send(std::make_unique<int>(1));
      buffered.Send(std::make_unique<int>(2));
      buffered.Send(std::make_unique<int>(3));
      buffered.Send(std::make_unique<int>(4));  // waits: the buffer holds 2
    });
    std::optional<std::unique_ptr<int>> v = unbuffered.Recv();
    ASSERT_TRUE(v.has_value() && *v != nullptr);
    EXPECT_EQ(**v, 1);
    for (int want = 2; want <= 4; ++want) {
      v = buffered.Recv();
      ASSERT_TRUE(v.has_value() && *v != nullptr);
      EXPECT_EQ(**v, want);
    }
    buffered.Send(std::make_unique<int>(5));
    v = buffered.TryRecv();
    ASSERT_TRUE(v.has_value() && *v != nullptr);
    EXPECT_EQ(**v, 5);
  });
}

TEST_P(ChanTest, SendOnClosedChannelAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(RunInWorld([] {
                 Chan<int> ch(1);
                 ch.Close();
                 ch.Send(1);
               }),
               "send on closed channel");
}

TEST_P(ChanTest, CloseWithABlockedSenderAbortsTheSender) {
  // As in Go, a sender blocked when the channel closes panics.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(RunInWorld([] {
                 auto ch = std::make_shared<Chan<int>>();
                 Go("sender", [ch] { ch->Send(1); });
                 lab::SleepFor(absl::Milliseconds(50));
                 ch->Close();
                 lab::SleepFor(absl::Seconds(5));
               }),
               "send on closed channel");
}

TEST_P(ChanTest, DoubleCloseAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(RunInWorld([] {
                 Chan<int> ch;
                 ch.Close();
                 ch.Close();
               }),
               "close of closed channel");
}

// Go code often makes a channel, hands it to a task, receives once and moves
// on. The task woken by that hand-off must not touch the channel again: the
// receiver may already have destroyed it (ASan catches a regression here).
TEST_P(ChanTest, ReceiverMayDestroyTheChannelRightAfterRecv) {
  RunInWorld([] {
    for (int i = 0; i < 50; ++i) {
      lab::TaskGroup senders("senders");  // joined after the channel is gone
      auto ch = std::make_unique<lab::Chan<int>>();
      senders.Go("sender", [c = ch.get(), i] { c->Send(i); });
      if (i % 2 == 0) lab::SleepFor(absl::Milliseconds(1));  // sender blocks first
      EXPECT_EQ(ch->Recv(), i);
      ch.reset();
    }
  });
}

// The same the other way round: a sender destroys the channel right after
// its value was taken by a blocked receiver.
TEST_P(ChanTest, SenderMayDestroyTheChannelRightAfterSend) {
  RunInWorld([] {
    for (int i = 0; i < 50; ++i) {
      std::atomic<int> got{-1};
      lab::TaskGroup receivers("receivers");
      auto ch = std::make_unique<lab::Chan<int>>();
      receivers.Go("receiver", [c = ch.get(), &got] { got = *c->Recv(); });
      if (i % 2 == 0) lab::SleepFor(absl::Milliseconds(1));  // receiver blocks first
      ch->Send(i);
      ch.reset();
      EXPECT_TRUE(receivers.Join(absl::Seconds(10)));
      EXPECT_EQ(got.load(), i);
    }
  });
}

LAB_INSTANTIATE_RUNTIME_TEST(ChanTest);

}  // namespace
}  // namespace lab
