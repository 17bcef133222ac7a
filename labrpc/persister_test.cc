// labrpc/persister_test.cc
//
// Tests of the Persister, under both runtimes: what is saved is read back,
// SaveRaftState keeps the snapshot, a Copy is independent of its original,
// and under concurrent Saves the Raft state and snapshot are never torn
// apart.

#include "labrpc/persister.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

namespace {

class PersisterTest : public lab::testing::RuntimeTest {};

TEST_P(PersisterTest, StartsEmpty) {
  RunInWorld([] {
    labrpc::Persister p;
    EXPECT_EQ(p.ReadRaftState(), "");
    EXPECT_EQ(p.ReadSnapshot(), "");
    EXPECT_EQ(p.RaftStateSize(), 0);
    EXPECT_EQ(p.SnapshotSize(), 0);
  });
}

TEST_P(PersisterTest, SaveThenReadGivesTheSameBytesAndSizes) {
  RunInWorld([] {
    labrpc::Persister p;
    const std::string state("term=3\0vote=1", 13);
    const std::string snapshot(100000, '\xab');
    p.Save(state, snapshot);
    EXPECT_EQ(p.ReadRaftState(), state);
    EXPECT_EQ(p.ReadSnapshot(), snapshot);
    EXPECT_EQ(p.RaftStateSize(), 13);
    EXPECT_EQ(p.SnapshotSize(), 100000);

    // A second Save replaces both, including with empty values.
    p.Save("s2", "");
    EXPECT_EQ(p.ReadRaftState(), "s2");
    EXPECT_EQ(p.ReadSnapshot(), "");
    EXPECT_EQ(p.RaftStateSize(), 2);
    EXPECT_EQ(p.SnapshotSize(), 0);
  });
}

TEST_P(PersisterTest, SaveRaftStateKeepsTheSnapshot) {
  RunInWorld([] {
    labrpc::Persister p;
    p.Save("state-1", "snapshot-1");
    p.SaveRaftState("state-2, longer");
    EXPECT_EQ(p.ReadRaftState(), "state-2, longer");
    EXPECT_EQ(p.ReadSnapshot(), "snapshot-1");
    EXPECT_EQ(p.RaftStateSize(), 15);
    EXPECT_EQ(p.SnapshotSize(), 10);
    p.SaveRaftState("");
    EXPECT_EQ(p.RaftStateSize(), 0);
    EXPECT_EQ(p.ReadSnapshot(), "snapshot-1");
  });
}

TEST_P(PersisterTest, CopyHoldsTheSameBytesAndChangesSeparately) {
  RunInWorld([] {
    auto original = std::make_shared<labrpc::Persister>();
    original->Save("state-A", "snap-A");
    std::shared_ptr<labrpc::Persister> copy = original->Copy();
    ASSERT_NE(copy, nullptr);
    ASSERT_NE(copy.get(), original.get());
    EXPECT_EQ(copy->ReadRaftState(), "state-A");
    EXPECT_EQ(copy->ReadSnapshot(), "snap-A");
    EXPECT_EQ(copy->RaftStateSize(), 7);
    EXPECT_EQ(copy->SnapshotSize(), 6);

    // Changing the copy leaves the original alone...
    copy->Save("state-B", "snap-B");
    copy->SaveRaftState("state-B2");
    EXPECT_EQ(original->ReadRaftState(), "state-A");
    EXPECT_EQ(original->ReadSnapshot(), "snap-A");

    // ...and changing the original leaves the copy alone (the tester relies
    // on this: a crashed peer's old instance must not reach the new one).
    original->Save("state-C", "snap-C");
    original->SaveRaftState("state-C2");
    EXPECT_EQ(copy->ReadRaftState(), "state-B2");
    EXPECT_EQ(copy->ReadSnapshot(), "snap-B");

    // A copy of a copy, after the copy is gone.
    std::shared_ptr<labrpc::Persister> copy2 = copy->Copy();
    copy.reset();
    EXPECT_EQ(copy2->ReadRaftState(), "state-B2");
    EXPECT_EQ(copy2->ReadSnapshot(), "snap-B");
    EXPECT_EQ(original->ReadRaftState(), "state-C2");
  });
}

// Writers Save matching pairs (state "k", snapshot "k") for distinct k while
// readers take Copy()s. Persister's own reads are separate calls, so a
// reader cannot check a pair with them; but Copy() is one atomic step, and
// the copy changes no more, so its two reads must match. A Copy that saw
// half a Save, or a Save that is not atomic, shows as a mismatch.
TEST_P(PersisterTest, ConcurrentSavesAndCopiesNeverTearAPair) {
  RunInWorld([this] {
    constexpr int kWriters = 4;
    constexpr int kReaders = 4;
    const int kSavesPerWriter = sim() ? 2000 : 5000;
    const int kCopiesPerReader = sim() ? 2000 : 5000;
    auto p = std::make_shared<labrpc::Persister>();
    p->Save("init", "init");
    std::atomic<int> torn{0};
    std::atomic<int> distinct_seen{0};
    {
      lab::TaskGroup group("persister-users");
      lab::Chan<int> done(kWriters + kReaders);
      for (int w = 0; w < kWriters; ++w) {
        group.Go(absl::StrCat("writer-", w), [&, w] {
          for (int i = 0; i < kSavesPerWriter; ++i) {
            // Different lengths, so a torn pair also differs in size.
            std::string value = absl::StrCat(w, ":", i, std::string(i % 37, 'x'));
            p->Save(value, value);
            if (i % 16 == 0) lab::Yield();
          }
          done.Send(1);
        });
      }
      for (int r = 0; r < kReaders; ++r) {
        group.Go(absl::StrCat("reader-", r), [&] {
          std::string last;
          for (int i = 0; i < kCopiesPerReader; ++i) {
            std::shared_ptr<labrpc::Persister> c = p->Copy();
            const std::string state = c->ReadRaftState();
            const std::string snapshot = c->ReadSnapshot();
            if (state != snapshot || c->RaftStateSize() != c->SnapshotSize()) {
              if (torn.fetch_add(1) < 5) {
                ADD_FAILURE() << "torn copy: state \"" << state << "\" snapshot \"" << snapshot
                              << "\"";
              }
            }
            if (state != last) {
              distinct_seen.fetch_add(1);
              last = state;
            }
            // In sim every Save takes virtual time; readers pace themselves
            // to interleave with the writers.
            if (sim()) {
              lab::SleepFor(absl::Microseconds(lab::RandInt(1, 100)));
            } else if (i % 16 == 0) {
              lab::Yield();
            }
          }
          done.Send(1);
        });
      }
      for (int i = 0; i < kWriters + kReaders; ++i) done.Recv();
    }
    EXPECT_EQ(torn.load(), 0);
    // The readers did observe the writers at work (else the test proves
    // nothing).
    EXPECT_GT(distinct_seen.load(), kReaders);
    // The last value is one some writer saved last, as a pair.
    EXPECT_EQ(p->ReadRaftState(), p->ReadSnapshot());
  });
}

// SaveRaftState racing Save: whatever interleaving, the final snapshot is
// one that Save wrote, and the final state one of the values written.
TEST_P(PersisterTest, ConcurrentSaveRaftStateNeverLosesTheSnapshot) {
  RunInWorld([] {
    auto p = std::make_shared<labrpc::Persister>();
    p->Save("s", "snap");
    {
      lab::TaskGroup group("users");
      lab::Chan<int> done(2);
      group.Go("state-writer", [&] {
        for (int i = 0; i < 2000; ++i) {
          p->SaveRaftState(absl::StrCat("state-", i));
          if (i % 8 == 0) lab::Yield();
        }
        done.Send(1);
      });
      group.Go("reader", [&] {
        for (int i = 0; i < 2000; ++i) {
          EXPECT_EQ(p->ReadSnapshot(), "snap");
          EXPECT_EQ(p->SnapshotSize(), 4);
          if (i % 8 == 0) lab::Yield();
        }
        done.Send(1);
      });
      done.Recv();
      done.Recv();
    }
    EXPECT_EQ(p->ReadRaftState(), "state-1999");
    EXPECT_EQ(p->ReadSnapshot(), "snap");
  });
}

// In sim a write takes the modelled disk time (and reads and copies none);
// in threads nothing is added to the real cost.
TEST_P(PersisterTest, WritesTakeModelledTimeInSim) {
  const bool sim = GetParam() == lab::RuntimeKind::kSim;
  RunInWorld([sim] {
    labrpc::Persister p;
    const absl::Time t0 = lab::Now();
    p.Save(std::string(10 * 1024, 's'), std::string(90 * 1024, 'n'));  // 100 KiB
    const absl::Duration save = lab::Now() - t0;
    const absl::Time t1 = lab::Now();
    p.SaveRaftState("x");
    const absl::Duration small = lab::Now() - t1;
    const absl::Time t2 = lab::Now();
    EXPECT_EQ(p.ReadSnapshot().size(), 90u * 1024);
    std::shared_ptr<labrpc::Persister> copy = p.Copy();
    EXPECT_EQ(copy->ReadRaftState(), "x");
    const absl::Duration reads = lab::Now() - t2;
    if (sim) {
      EXPECT_EQ(save, labrpc::Persister::kWriteLatency + 100 * labrpc::Persister::kWriteTimePerKiB);
      EXPECT_GE(small, labrpc::Persister::kWriteLatency);
      EXPECT_LT(small, labrpc::Persister::kWriteLatency + labrpc::Persister::kWriteTimePerKiB);
      EXPECT_EQ(reads, absl::ZeroDuration());
    } else {
      EXPECT_LT(save, absl::Milliseconds(200));  // no added sleep (a loose bound)
    }
  });
}

LAB_INSTANTIATE_RUNTIME_TEST(PersisterTest);

}  // namespace
