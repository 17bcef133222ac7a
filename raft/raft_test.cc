// raft/raft_test.cc
//
// The Lab 2 suites: 2A leader election, 2B log replication, 2C persistence,
// 2D log compaction. Ports of the Go lab's test_test.go (2022): same
// scenarios, same bounds, same messages (TESTS.md, "Lab 2 tests"). Then
// Raft2Beyond: the course's own questions (TESTS.md, "Beyond the Go suite").
//
//   LAB_RUNTIME=sim LAB_SEED=7 bazel-bin/raft/raft_test_sim_seed1 --gtest_filter='Raft2B.*'
//
// The tester (config.h) checks safety continuously: every applied command is
// compared with every other peer's at that index as it arrives. Each test
// prints its title, then "... Passed --  time peers rpcs bytes commands".

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "raft/config.h"

namespace raft {
namespace {

// Parses a command made by Cmd(); fails the test if it is not a number.
int64_t CmdValue(Config& cfg, const std::string& command) {
  try {
    size_t used = 0;
    const int64_t v = std::stoll(command, &used);
    if (used == command.size()) return v;
  } catch (const std::exception&) {
  }
  cfg.Fail(absl::StrCat("value \"", command, "\" is not an int"));
}

// --- Scenario helpers ------------------------------------------------------------
//
// The scaffolding and the steps that several tests share. Each makes its
// runtime calls (sleeps, random draws, tester calls) in the order the Go
// tests make them inline: reordering them would change the sim schedules,
// and so every test's fingerprint.

// The cluster a test runs on: Go's make_config(t, servers, unreliable, snapshot).
struct Cluster {
  int servers = 0;
  bool unreliable = false;  // RPCs delayed, dropped and reordered
  bool snapshot = false;    // the 2D applier, which snapshots
};

// Runs `scenario` as the test's main task (RunRaftTest) on a fresh `cluster`,
// passing its size. A scenario opens with cfg.Begin(title) and closes with
// cfg.End(), as the Go tests do; a failed check ends it there.
void RunOnCluster(const Cluster& cluster,
                  const std::function<void(Config& cfg, int servers)>& scenario) {
  RunRaftTest([&cluster, &scenario] {
    Config cfg(cluster.servers, cluster.unreliable, cluster.snapshot);
    scenario(cfg, cluster.servers);
  });
}

// An agreement (without retry) that must land at `index`.
void OneAt(Config& cfg, int64_t index, const std::string& command, int expected) {
  const int64_t xindex = cfg.One(command, expected, false);
  if (xindex != index) cfg.Fail(absl::StrCat("got index ", xindex, " but expected ", index));
}

// Start() on `leader`, which must accept `command` at `index`.
void StartOnLeader(Config& cfg, int leader, int64_t command, int64_t index) {
  const StartResult r = cfg.Start(leader, command);
  if (!r.is_leader) cfg.Fail("leader rejected Start()");
  if (r.index != index) cfg.Fail(absl::StrCat("expected index ", index, ", got ", r.index));
}

// No peer has applied `index`: with no majority connected, none may.
void CheckNoneCommitted(Config& cfg, int64_t index) {
  const int n = cfg.NCommitted(index).count;
  if (n > 0) cfg.Fail(absl::StrCat(n, " committed but no majority"));
}

// Runs `attempt` until it returns true, at most 5 times, 3 s apart. An
// attempt returns false when the term changed under it, so that what it
// checks need not hold; if every attempt does, the test fails.
void RetryWhileTermChanges(Config& cfg, const std::function<bool()>& attempt) {
  for (int i = 0; i < 5; ++i) {
    if (i > 0) {
      // Give the solution some time to settle.
      lab::SleepFor(absl::Seconds(3));
    }
    if (attempt()) return;
  }
  cfg.Fail("term changed too often");
}

// Figure 8's pause after a round of Starts: one time in ten up to half an
// election timeout (the leader most likely commits before it fails), else
// under 13 ms (it most likely does not).
void Figure8Pause() {
  if (lab::RandInt(0, 1000) < 100) {
    const int64_t ms = lab::RandInt(0, absl::ToInt64Milliseconds(kElectionTimeout) / 2);
    lab::SleepFor(absl::Milliseconds(ms));
  } else {
    lab::SleepFor(absl::Milliseconds(lab::RandInt(0, 13)));
  }
}

// One round of churn: perhaps disconnect a random peer, perhaps restart (if
// crashed) and connect one, perhaps crash one.
void ChurnOnce(Config& cfg) {
  const int servers = cfg.n();
  if (lab::RandInt(0, 1000) < 200) {
    cfg.Disconnect(static_cast<int>(lab::RandInt(0, servers)));
  }

  if (lab::RandInt(0, 1000) < 500) {
    const int i = static_cast<int>(lab::RandInt(0, servers));
    if (!cfg.alive(i)) cfg.Start1(i);
    cfg.Connect(i);
  }

  if (lab::RandInt(0, 1000) < 200) {
    const int i = static_cast<int>(lab::RandInt(0, servers));
    if (cfg.alive(i)) cfg.Crash1(i);
  }
}

// After churn: a reliable network, every peer up and connected.
void HealAll(Config& cfg) {
  cfg.SetUnreliable(false);
  for (int i = 0; i < cfg.n(); ++i) {
    if (!cfg.alive(i)) cfg.Start1(i);
    cfg.Connect(i);
  }
}

// Crashes every peer, then restarts and reconnects each from what it
// persisted.
void CrashAndRestartAll(Config& cfg) {
  for (int i = 0; i < cfg.n(); ++i) cfg.Crash1(i);
  for (int i = 0; i < cfg.n(); ++i) {
    cfg.Start1(i);
    cfg.Connect(i);
  }
}

// 2D: perhaps enough commands for a snapshot, perhaps not (5 to 14).
int MaybeSnapshotBatch() {
  return kSnapshotInterval / 2 + static_cast<int>(lab::RandInt(0, kSnapshotInterval));
}

// --- 2A: leader election -------------------------------------------------------

TEST(Raft2A, InitialElection) {
  RunOnCluster({.servers = 3}, [](Config& cfg, int /*servers*/) {
    cfg.Begin("Test (2A): initial election");

    // Is a leader elected?
    cfg.CheckOneLeader();

    // Sleep a bit to avoid racing with followers learning of the election,
    // then check that all peers agree on the term.
    lab::SleepFor(absl::Milliseconds(50));
    const int64_t term1 = cfg.CheckTerms();
    if (term1 < 1) cfg.Fail(absl::StrCat("term is ", term1, ", but should be at least 1"));

    // Does the leader+term stay the same if there is no network failure?
    lab::SleepFor(2 * kElectionTimeout);
    const int64_t term2 = cfg.CheckTerms();
    if (term1 != term2) std::printf("warning: term changed even though there were no failures\n");

    // There should still be a leader.
    cfg.CheckOneLeader();

    cfg.End();
  });
}

TEST(Raft2A, ReElection) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2A): election after network failure");

    const int leader1 = cfg.CheckOneLeader();

    // If the leader disconnects, a new one should be elected.
    cfg.Disconnect(leader1);
    cfg.CheckOneLeader();

    // If the old leader rejoins, that shouldn't disturb the new leader.
    cfg.Connect(leader1);
    const int leader2 = cfg.CheckOneLeader();

    // If there's no quorum, no leader should be elected.
    cfg.Disconnect(leader2);
    cfg.Disconnect((leader2 + 1) % servers);
    lab::SleepFor(2 * kElectionTimeout);
    cfg.CheckNoLeader();

    // If a quorum arises, it should elect a leader.
    cfg.Connect((leader2 + 1) % servers);
    cfg.CheckOneLeader();

    // Re-join of the last node shouldn't prevent a leader from existing.
    cfg.Connect(leader2);
    cfg.CheckOneLeader();

    cfg.End();
  });
}

TEST(Raft2A, ManyElections) {
  RunOnCluster({.servers = 7}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2A): multiple elections");

    cfg.CheckOneLeader();

    const int iters = 10;
    for (int ii = 1; ii < iters; ++ii) {
      // Disconnect three nodes (perhaps fewer, if the draws repeat).
      const int i1 = static_cast<int>(lab::RandInt(0, servers));
      const int i2 = static_cast<int>(lab::RandInt(0, servers));
      const int i3 = static_cast<int>(lab::RandInt(0, servers));
      cfg.Disconnect(i1);
      cfg.Disconnect(i2);
      cfg.Disconnect(i3);

      // Either the current leader should still be alive, or the remaining
      // four should elect a new one.
      cfg.CheckOneLeader();

      cfg.Connect(i1);
      cfg.Connect(i2);
      cfg.Connect(i3);
    }

    cfg.CheckOneLeader();

    cfg.End();
  });
}

// --- 2B: log replication -------------------------------------------------------

TEST(Raft2B, BasicAgree) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): basic agreement");

    const int iters = 3;
    for (int64_t index = 1; index < iters + 1; ++index) {
      if (cfg.NCommitted(index).count > 0) cfg.Fail("some have committed before Start()");

      OneAt(cfg, index, Cmd(index * 100), servers);
    }

    cfg.End();
  });
}

// Check, based on counting bytes of RPCs, that each command is sent to each
// peer just once.
TEST(Raft2B, RPCBytes) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): RPC byte count");

    cfg.One(99, servers, false);
    const int64_t bytes0 = cfg.BytesTotal();

    const int iters = 10;
    int64_t sent = 0;
    for (int64_t index = 2; index < iters + 2; ++index) {
      const std::string cmd = RandomString(5000);
      OneAt(cfg, index, cmd, servers);
      sent += static_cast<int64_t>(cmd.size());
    }

    const int64_t got = cfg.BytesTotal() - bytes0;
    const int64_t expected = servers * sent;
    if (got > expected + 50000) {
      cfg.Fail(absl::StrCat("too many RPC bytes; got ", got, ", expected ", expected));
    }

    cfg.End();
  });
}

TEST(Raft2B, FollowerFailure) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): test progressive failure of followers");

    cfg.One(101, servers, false);

    // Disconnect one follower from the network.
    const int leader1 = cfg.CheckOneLeader();
    cfg.Disconnect((leader1 + 1) % servers);

    // The leader and remaining follower should be able to agree despite the
    // disconnected follower.
    cfg.One(102, servers - 1, false);
    lab::SleepFor(kElectionTimeout);
    cfg.One(103, servers - 1, false);

    // Disconnect the remaining follower.
    const int leader2 = cfg.CheckOneLeader();
    cfg.Disconnect((leader2 + 1) % servers);
    cfg.Disconnect((leader2 + 2) % servers);

    // Submit a command.
    StartOnLeader(cfg, leader2, 104, 4);

    lab::SleepFor(2 * kElectionTimeout);

    // Check that command 104 did not commit.
    CheckNoneCommitted(cfg, 4);

    cfg.End();
  });
}

TEST(Raft2B, LeaderFailure) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): test failure of leaders");

    cfg.One(101, servers, false);

    // Disconnect the first leader.
    const int leader1 = cfg.CheckOneLeader();
    cfg.Disconnect(leader1);

    // The remaining followers should elect a new leader.
    cfg.One(102, servers - 1, false);
    lab::SleepFor(kElectionTimeout);
    cfg.One(103, servers - 1, false);

    // Disconnect the new leader.
    const int leader2 = cfg.CheckOneLeader();
    cfg.Disconnect(leader2);

    // Submit a command to each server.
    for (int i = 0; i < servers; ++i) cfg.Start(i, 104);

    lab::SleepFor(2 * kElectionTimeout);

    // Check that command 104 did not commit.
    CheckNoneCommitted(cfg, 4);

    cfg.End();
  });
}

TEST(Raft2B, FailAgree) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): agreement after follower reconnects");

    cfg.One(101, servers, false);

    // Disconnect one follower from the network.
    const int leader = cfg.CheckOneLeader();
    cfg.Disconnect((leader + 1) % servers);

    // The leader and remaining follower should be able to agree despite the
    // disconnected follower.
    cfg.One(102, servers - 1, false);
    cfg.One(103, servers - 1, false);
    lab::SleepFor(kElectionTimeout);
    cfg.One(104, servers - 1, false);
    cfg.One(105, servers - 1, false);

    // Re-connect.
    cfg.Connect((leader + 1) % servers);

    // The full set of servers should preserve previous agreements, and be
    // able to agree on new commands.
    cfg.One(106, servers, true);
    lab::SleepFor(kElectionTimeout);
    cfg.One(107, servers, true);

    cfg.End();
  });
}

TEST(Raft2B, FailNoAgree) {
  RunOnCluster({.servers = 5}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): no agreement if too many followers disconnect");

    cfg.One(10, servers, false);

    // 3 of 5 followers disconnect.
    const int leader = cfg.CheckOneLeader();
    cfg.Disconnect((leader + 1) % servers);
    cfg.Disconnect((leader + 2) % servers);
    cfg.Disconnect((leader + 3) % servers);

    StartOnLeader(cfg, leader, 20, 2);

    lab::SleepFor(2 * kElectionTimeout);

    CheckNoneCommitted(cfg, 2);

    // Repair.
    cfg.Connect((leader + 1) % servers);
    cfg.Connect((leader + 2) % servers);
    cfg.Connect((leader + 3) % servers);

    // The disconnected majority may have chosen a leader from among their
    // own ranks, forgetting index 2.
    const int leader2 = cfg.CheckOneLeader();
    StartResult r2 = cfg.Start(leader2, 30);
    if (!r2.is_leader) cfg.Fail("leader2 rejected Start()");
    if (r2.index < 2 || r2.index > 3) cfg.Fail(absl::StrCat("unexpected index ", r2.index));

    cfg.One(1000, servers, true);

    cfg.End();
  });
}

TEST(Raft2B, ConcurrentStarts) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): concurrent Start()s");

    RetryWhileTermChanges(cfg, [&cfg, servers] {
      const int leader = cfg.CheckOneLeader();
      StartResult first = cfg.Start(leader, 1);
      if (!first.is_leader) return false;  // the leader moved on really quickly
      const int64_t term = first.term;

      const int iters = 5;
      WaitGroup wg;
      auto is = std::make_shared<lab::Chan<int64_t>>(iters);
      for (int ii = 0; ii < iters; ++ii) {
        cfg.Go(
            "starter",
            [&cfg, is, leader, term, ii] {
              StartResult r = cfg.Start(leader, 100 + ii);
              if (r.term != term || !r.is_leader) return;
              is->Send(r.index);
            },
            &wg);
      }
      wg.Wait();
      is->Close();

      bool term_changed = false;
      for (int j = 0; j < servers; ++j) {
        if (cfg.GetState(j).first != term) term_changed = true;
      }
      // The term changed: can't expect all Start()s to have succeeded.
      if (term_changed) return false;

      std::vector<int64_t> cmds;
      while (std::optional<int64_t> index = is->Recv()) {
        std::optional<std::string> cmd = cfg.Wait(*index, servers, term);
        if (!cmd.has_value()) {
          // Peers have moved on to later terms, so we can't expect all
          // Start()s to have succeeded.
          return false;
        }
        cmds.push_back(CmdValue(cfg, *cmd));
      }

      for (int ii = 0; ii < iters; ++ii) {
        const int64_t x = 100 + ii;
        if (std::find(cmds.begin(), cmds.end(), x) == cmds.end()) {
          cfg.Fail(absl::StrCat("cmd ", x, " missing in [", absl::StrJoin(cmds, " "), "]"));
        }
      }
      return true;
    });

    cfg.End();
  });
}

TEST(Raft2B, Rejoin) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): rejoin of partitioned leader");

    cfg.One(101, servers, true);

    // Leader network failure.
    const int leader1 = cfg.CheckOneLeader();
    cfg.Disconnect(leader1);

    // Make the old leader try to agree on some entries.
    cfg.Start(leader1, 102);
    cfg.Start(leader1, 103);
    cfg.Start(leader1, 104);

    // The new leader commits, also for index=2.
    cfg.One(103, 2, true);

    // New leader network failure.
    const int leader2 = cfg.CheckOneLeader();
    cfg.Disconnect(leader2);

    // Old leader connected again.
    cfg.Connect(leader1);

    cfg.One(104, 2, true);

    // All together now.
    cfg.Connect(leader2);

    cfg.One(105, servers, true);

    cfg.End();
  });
}

TEST(Raft2B, Backup) {
  RunOnCluster({.servers = 5}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): leader backs up quickly over incorrect follower logs");

    cfg.One(RandomCommand(), servers, true);

    // Put the leader and one follower in a partition.
    const int leader1 = cfg.CheckOneLeader();
    cfg.Disconnect((leader1 + 2) % servers);
    cfg.Disconnect((leader1 + 3) % servers);
    cfg.Disconnect((leader1 + 4) % servers);

    // Submit lots of commands that won't commit.
    for (int i = 0; i < 50; ++i) cfg.Start(leader1, RandomCommand());

    lab::SleepFor(kElectionTimeout / 2);

    cfg.Disconnect((leader1 + 0) % servers);
    cfg.Disconnect((leader1 + 1) % servers);

    // Allow the other partition to recover.
    cfg.Connect((leader1 + 2) % servers);
    cfg.Connect((leader1 + 3) % servers);
    cfg.Connect((leader1 + 4) % servers);

    // Lots of successful commands to the new group.
    for (int i = 0; i < 50; ++i) cfg.One(RandomCommand(), 3, true);

    // Now another partitioned leader and one follower.
    const int leader2 = cfg.CheckOneLeader();
    int other = (leader1 + 2) % servers;
    if (leader2 == other) other = (leader2 + 1) % servers;
    cfg.Disconnect(other);

    // Lots more commands that won't commit.
    for (int i = 0; i < 50; ++i) cfg.Start(leader2, RandomCommand());

    lab::SleepFor(kElectionTimeout / 2);

    // Bring the original leader back to life.
    for (int i = 0; i < servers; ++i) cfg.Disconnect(i);
    cfg.Connect((leader1 + 0) % servers);
    cfg.Connect((leader1 + 1) % servers);
    cfg.Connect(other);

    // Lots of successful commands to the new group.
    for (int i = 0; i < 50; ++i) cfg.One(RandomCommand(), 3, true);

    // Now everyone.
    for (int i = 0; i < servers; ++i) cfg.Connect(i);
    cfg.One(RandomCommand(), servers, true);

    cfg.End();
  });
}

TEST(Raft2B, Count) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2B): RPC counts aren't too high");

    auto rpcs = [&cfg, servers] {
      int64_t n = 0;
      for (int j = 0; j < servers; ++j) n += cfg.RpcCount(j);
      return n;
    };

    int leader = cfg.CheckOneLeader();

    int64_t total1 = rpcs();
    if (total1 > 30 || total1 < 1) {
      cfg.Fail(absl::StrCat("too many or few RPCs (", total1, ") to elect initial leader"));
    }

    int64_t total2 = 0;
    RetryWhileTermChanges(cfg, [&] {
      leader = cfg.CheckOneLeader();
      total1 = rpcs();

      const int iters = 10;
      StartResult first = cfg.Start(leader, 1);
      if (!first.is_leader) return false;  // the leader moved on really quickly
      const int64_t starti = first.index;
      const int64_t term = first.term;

      std::vector<int64_t> cmds;
      for (int i = 1; i < iters + 2; ++i) {
        const int64_t x = lab::RandInt(0, int64_t{1} << 31);
        cmds.push_back(x);
        StartResult r = cfg.Start(leader, x);
        if (r.term != term || !r.is_leader) {
          // The term changed while starting: no longer the leader.
          return false;
        }
        if (starti + i != r.index) cfg.Fail("Start() failed");
      }

      for (int i = 1; i < iters + 1; ++i) {
        std::optional<std::string> cmd = cfg.Wait(starti + i, servers, term);
        if (!cmd.has_value()) return false;  // the term changed: try again
        if (*cmd != Cmd(cmds[i - 1])) {
          cfg.Fail(absl::StrCat("wrong value ", *cmd, " committed for index ", starti + i,
                                "; expected [", absl::StrJoin(cmds, " "), "]"));
        }
      }

      bool failed = false;
      total2 = 0;
      for (int j = 0; j < servers; ++j) {
        // The term changed: can't expect low RPC counts. Keep going to
        // update total2.
        if (cfg.GetState(j).first != term) failed = true;
        total2 += cfg.RpcCount(j);
      }
      if (failed) return false;

      if (total2 - total1 > (iters + 1 + 3) * 3) {
        cfg.Fail(absl::StrCat("too many RPCs (", total2 - total1, ") for ", iters, " entries"));
      }
      return true;
    });

    lab::SleepFor(kElectionTimeout);

    const int64_t total3 = rpcs();

    if (total3 - total2 > 3 * 20) {
      cfg.Fail(absl::StrCat("too many RPCs (", total3 - total2, ") for 1 second of idleness"));
    }

    cfg.End();
  });
}

// --- 2C: persistence -----------------------------------------------------------

TEST(Raft2C, Persist1) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2C): basic persistence");

    cfg.One(11, servers, true);

    // Crash and re-start all.
    for (int i = 0; i < servers; ++i) cfg.Start1(i);
    for (int i = 0; i < servers; ++i) {
      cfg.Disconnect(i);
      cfg.Connect(i);
    }

    cfg.One(12, servers, true);

    const int leader1 = cfg.CheckOneLeader();
    cfg.Disconnect(leader1);
    cfg.Start1(leader1);
    cfg.Connect(leader1);

    cfg.One(13, servers, true);

    const int leader2 = cfg.CheckOneLeader();
    cfg.Disconnect(leader2);
    cfg.One(14, servers - 1, true);
    cfg.Start1(leader2);
    cfg.Connect(leader2);

    cfg.Wait(4, servers, -1);  // wait for leader2 to join before killing i3

    const int i3 = (cfg.CheckOneLeader() + 1) % servers;
    cfg.Disconnect(i3);
    cfg.One(15, servers - 1, true);
    cfg.Start1(i3);
    cfg.Connect(i3);

    cfg.One(16, servers, true);

    cfg.End();
  });
}

TEST(Raft2C, Persist2) {
  RunOnCluster({.servers = 5}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2C): more persistence");

    int64_t index = 1;
    for (int iters = 0; iters < 5; ++iters) {
      cfg.One(10 + index, servers, true);
      ++index;

      const int leader1 = cfg.CheckOneLeader();

      cfg.Disconnect((leader1 + 1) % servers);
      cfg.Disconnect((leader1 + 2) % servers);

      cfg.One(10 + index, servers - 2, true);
      ++index;

      cfg.Disconnect((leader1 + 0) % servers);
      cfg.Disconnect((leader1 + 3) % servers);
      cfg.Disconnect((leader1 + 4) % servers);

      cfg.Start1((leader1 + 1) % servers);
      cfg.Start1((leader1 + 2) % servers);
      cfg.Connect((leader1 + 1) % servers);
      cfg.Connect((leader1 + 2) % servers);

      lab::SleepFor(kElectionTimeout);

      cfg.Start1((leader1 + 3) % servers);
      cfg.Connect((leader1 + 3) % servers);

      cfg.One(10 + index, servers - 2, true);
      ++index;

      cfg.Connect((leader1 + 4) % servers);
      cfg.Connect((leader1 + 0) % servers);
    }

    cfg.One(1000, servers, true);

    cfg.End();
  });
}

TEST(Raft2C, Persist3) {
  RunOnCluster({.servers = 3}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2C): partitioned leader and one follower crash, leader restarts");

    cfg.One(101, 3, true);

    const int leader = cfg.CheckOneLeader();
    cfg.Disconnect((leader + 2) % servers);

    cfg.One(102, 2, true);

    cfg.Crash1((leader + 0) % servers);
    cfg.Crash1((leader + 1) % servers);
    cfg.Connect((leader + 2) % servers);
    cfg.Start1((leader + 0) % servers);
    cfg.Connect((leader + 0) % servers);

    cfg.One(103, 2, true);

    cfg.Start1((leader + 1) % servers);
    cfg.Connect((leader + 1) % servers);

    cfg.One(104, servers, true);

    cfg.End();
  });
}

// The scenarios of Figure 8 of the extended Raft paper. Each iteration asks
// a leader, if there is one, to insert a command in the Raft log. If there
// is a leader, that leader will fail quickly with a high probability
// (perhaps without committing the command), or crash after a while with low
// probability (most likely committing the command). If the number of alive
// servers isn't enough to form a majority, perhaps start a new server. The
// leader in a new term may try to finish replicating log entries that
// haven't been committed yet.
TEST(Raft2C, Figure8) {
  RunOnCluster({.servers = 5}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2C): Figure 8");

    cfg.One(RandomCommand(), 1, true);

    int nup = servers;
    for (int iters = 0; iters < 1000; ++iters) {
      int leader = -1;
      for (int i = 0; i < servers; ++i) {
        if (cfg.alive(i) && cfg.Start(i, RandomCommand()).is_leader) leader = i;
      }

      Figure8Pause();

      if (leader != -1) {
        cfg.Crash1(leader);
        --nup;
      }

      if (nup < 3) {
        const int s = static_cast<int>(lab::RandInt(0, servers));
        if (!cfg.alive(s)) {
          cfg.Start1(s);
          cfg.Connect(s);
          ++nup;
        }
      }
    }

    for (int i = 0; i < servers; ++i) {
      if (!cfg.alive(i)) {
        cfg.Start1(i);
        cfg.Connect(i);
      }
    }

    cfg.One(RandomCommand(), servers, true);

    cfg.End();
  });
}

TEST(Raft2C, UnreliableAgree) {
  RunOnCluster({.servers = 5, .unreliable = true}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2C): unreliable agreement");

    WaitGroup wg;
    for (int iters = 1; iters < 50; ++iters) {
      for (int j = 0; j < 4; ++j) {
        cfg.Go(
            "agree", [&cfg, iters, j] { cfg.One(100 * iters + j, 1, true); }, &wg);
      }
      cfg.One(iters, 1, true);
    }

    cfg.SetUnreliable(false);

    wg.Wait();

    cfg.One(100, servers, true);

    cfg.End();
  });
}

TEST(Raft2C, Figure8Unreliable) {
  RunOnCluster({.servers = 5, .unreliable = true}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2C): Figure 8 (unreliable)");

    cfg.One(lab::RandInt(0, 10000), 1, true);

    int nup = servers;
    for (int iters = 0; iters < 1000; ++iters) {
      if (iters == 200) cfg.SetLongReordering(true);
      int leader = -1;
      for (int i = 0; i < servers; ++i) {
        if (cfg.Start(i, lab::RandInt(0, 10000)).is_leader && cfg.connected(i)) leader = i;
      }

      Figure8Pause();

      if (leader != -1 &&
          lab::RandInt(0, 1000) < absl::ToInt64Milliseconds(kElectionTimeout) / 2) {
        cfg.Disconnect(leader);
        --nup;
      }

      if (nup < 3) {
        const int s = static_cast<int>(lab::RandInt(0, servers));
        if (!cfg.connected(s)) {
          cfg.Connect(s);
          ++nup;
        }
      }
    }

    for (int i = 0; i < servers; ++i) {
      if (!cfg.connected(i)) cfg.Connect(i);
    }

    cfg.One(lab::RandInt(0, 10000), servers, true);

    cfg.End();
  });
}

// Three clients Start commands on every live peer while peers crash,
// restart and disconnect; every value a client saw committed must be in
// the final log.
void InternalChurn(bool unreliable) {
  const Cluster cluster{.servers = 5, .unreliable = unreliable};
  RunOnCluster(cluster, [unreliable](Config& cfg, const int servers) {
    cfg.Begin(unreliable ? "Test (2C): unreliable churn" : "Test (2C): churn");

    // Shared with the client tasks, which outlive this frame until the
    // Config stops them.
    auto stop = std::make_shared<std::atomic<bool>>(false);
    using Values = std::optional<std::vector<std::string>>;  // nullopt: the client failed
    auto client = [&cfg, stop, servers](int me, std::shared_ptr<lab::Chan<Values>> ch) {
      Values ret;
      try {
        std::vector<std::string> values;
        while (!stop->load()) {
          const std::string x = Cmd(RandomCommand());
          int64_t index = -1;
          bool ok = false;
          for (int i = 0; i < servers; ++i) {
            // Try them all: maybe one of them is a leader.
            StartResult r = cfg.Start(i, x);
            if (r.is_leader) {
              ok = true;
              index = r.index;
            }
          }
          if (ok) {
            // Maybe the leader will commit our value, maybe not; but don't
            // wait forever.
            for (int to : {10, 20, 50, 100, 200}) {
              Config::Committed c = cfg.NCommitted(index);
              if (c.count > 0) {
                if (c.command == x) values.push_back(x);
                break;
              }
              lab::SleepFor(absl::Milliseconds(to));
            }
          } else {
            lab::SleepFor(absl::Milliseconds(79 + me * 17));
          }
        }
        ret = std::move(values);
      } catch (const TestFailed&) {
        // Recorded; report a failed client.
      }
      ch->Send(std::move(ret));
    };

    const int ncli = 3;
    std::vector<std::shared_ptr<lab::Chan<Values>>> cha;
    for (int i = 0; i < ncli; ++i) {
      cha.push_back(std::make_shared<lab::Chan<Values>>(1));
      cfg.Go(absl::StrCat("client ", i), [client, i, ch = cha[i]] { client(i, ch); });
    }

    for (int iters = 0; iters < 20; ++iters) {
      ChurnOnce(cfg);

      // Make crash/restart infrequent enough that the peers can often keep
      // up, but not so infrequent that everything has settled down from one
      // change to the next. Pick a value smaller than the election timeout,
      // but not hugely smaller.
      lab::SleepFor(kElectionTimeout * 7 / 10);
    }

    lab::SleepFor(kElectionTimeout);
    HealAll(cfg);

    stop->store(true);

    std::vector<std::string> values;
    for (int i = 0; i < ncli; ++i) {
      Values vv = *cha[i]->Recv();
      if (!vv.has_value()) cfg.Fail("client failed");
      values.insert(values.end(), vv->begin(), vv->end());
    }

    lab::SleepFor(kElectionTimeout);

    const int64_t last_index = cfg.One(RandomCommand(), servers, true);

    std::vector<std::string> really;
    for (int64_t index = 1; index <= last_index; ++index) {
      std::optional<std::string> v = cfg.Wait(index, servers, -1);
      really.push_back(*v);
    }

    for (const std::string& v1 : values) {
      if (std::find(really.begin(), really.end(), v1) == really.end()) {
        cfg.Fail(absl::StrCat("didn't find a value (", v1, ")"));
      }
    }

    cfg.End();
  });
}

TEST(Raft2C, ReliableChurn) { InternalChurn(false); }

TEST(Raft2C, UnreliableChurn) { InternalChurn(true); }

// --- 2D: log compaction --------------------------------------------------------

// 30 rounds, each with enough commands for a snapshot: a victim is
// disconnected (and must catch up, by InstallSnapshot if it fell behind the
// leader's snapshot) or crashed and restarted, as asked.
void SnapCommon(const std::string& name, bool disconnect, bool reliable, bool crash) {
  const Cluster cluster{.servers = 3, .unreliable = !reliable, .snapshot = true};
  RunOnCluster(cluster, [&name, disconnect, crash](Config& cfg, const int servers) {
    const int iters = 30;
    cfg.Begin(name);

    cfg.One(RandomCommand(), servers, true);
    int leader1 = cfg.CheckOneLeader();

    for (int i = 0; i < iters; ++i) {
      int victim = (leader1 + 1) % servers;
      int sender = leader1;
      if (i % 3 == 1) {
        sender = (leader1 + 1) % servers;
        victim = leader1;
      }

      if (disconnect) {
        cfg.Disconnect(victim);
        cfg.One(RandomCommand(), servers - 1, true);
      }
      if (crash) {
        cfg.Crash1(victim);
        cfg.One(RandomCommand(), servers - 1, true);
      }

      // Perhaps send enough to get a snapshot.
      const int nn = MaybeSnapshotBatch();
      for (int k = 0; k < nn; ++k) cfg.Start(sender, RandomCommand());

      // Let the applier tasks catch up with the Start()s.
      if (!disconnect && !crash) {
        // Make sure all followers have caught up, so that an InstallSnapshot
        // RPC isn't required for TestSnapshotBasic2D().
        cfg.One(RandomCommand(), servers, true);
      } else {
        cfg.One(RandomCommand(), servers - 1, true);
      }

      if (cfg.LogSize() >= kMaxLogSize) {
        cfg.Fail(absl::StrCat("Log size too large (", cfg.LogSize(), " bytes)"));
      }
      if (disconnect) {
        // Reconnect a follower, which may be behind and need to receive a
        // snapshot to catch up.
        cfg.Connect(victim);
        cfg.One(RandomCommand(), servers, true);
        leader1 = cfg.CheckOneLeader();
      }
      if (crash) {
        cfg.Start1(victim, ApplierKind::kSnapshot);
        cfg.Connect(victim);
        cfg.One(RandomCommand(), servers, true);
        leader1 = cfg.CheckOneLeader();
      }
    }
    cfg.End();
  });
}

TEST(Raft2D, SnapshotBasic) {
  SnapCommon("Test (2D): snapshots basic", /*disconnect=*/false, /*reliable=*/true,
             /*crash=*/false);
}

TEST(Raft2D, SnapshotInstall) {
  SnapCommon("Test (2D): install snapshots (disconnect)", /*disconnect=*/true,
             /*reliable=*/true, /*crash=*/false);
}

TEST(Raft2D, SnapshotInstallUnreliable) {
  SnapCommon("Test (2D): install snapshots (disconnect+unreliable)", /*disconnect=*/true,
             /*reliable=*/false, /*crash=*/false);
}

TEST(Raft2D, SnapshotInstallCrash) {
  SnapCommon("Test (2D): install snapshots (crash)", /*disconnect=*/false, /*reliable=*/true,
             /*crash=*/true);
}

TEST(Raft2D, SnapshotInstallUnCrash) {
  SnapCommon("Test (2D): install snapshots (unreliable+crash)", /*disconnect=*/false,
             /*reliable=*/false, /*crash=*/true);
}

// Do the servers persist the snapshots, and restart using the snapshot
// along with the tail of the log?
TEST(Raft2D, SnapshotAllCrash) {
  RunOnCluster({.servers = 3, .snapshot = true}, [](Config& cfg, const int servers) {
    const int iters = 5;
    cfg.Begin("Test (2D): crash and restart all servers");

    cfg.One(RandomCommand(), servers, true);

    for (int i = 0; i < iters; ++i) {
      // Perhaps enough to get a snapshot.
      const int nn = MaybeSnapshotBatch();
      for (int k = 0; k < nn; ++k) cfg.One(RandomCommand(), servers, true);

      const int64_t index1 = cfg.One(RandomCommand(), servers, true);

      CrashAndRestartAll(cfg);

      const int64_t index2 = cfg.One(RandomCommand(), servers, true);
      if (index2 < index1 + 1) {
        cfg.Fail(absl::StrCat("index decreased from ", index1, " to ", index2));
      }
    }
    cfg.End();
  });
}

// Do servers correctly initialize their in-memory copy of the snapshot,
// making sure that future writes to persistent state don't lose state?
TEST(Raft2D, SnapshotInit) {
  RunOnCluster({.servers = 3, .snapshot = true}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (2D): snapshot initialization after crash");
    cfg.One(RandomCommand(), servers, true);

    // Enough ops to make a snapshot.
    const int nn = kSnapshotInterval + 1;
    for (int i = 0; i < nn; ++i) cfg.One(RandomCommand(), servers, true);

    // Crash all, and revive all.
    CrashAndRestartAll(cfg);

    // A single op, to get something written back to persistent storage.
    cfg.One(RandomCommand(), servers, true);

    // Crash all, and revive all.
    CrashAndRestartAll(cfg);

    // Another op, to trigger a potential bug.
    cfg.One(RandomCommand(), servers, true);
    cfg.End();
  });
}

// --- Beyond the Go suite ----------------------------------------------------------

// Polls every `interval` until `done()` or `limit` has passed; returns done().
bool PollUntil(const std::function<bool()>& done, absl::Duration limit,
               absl::Duration interval = absl::Milliseconds(50)) {
  const absl::Time deadline = lab::Now() + limit;
  while (!done()) {
    if (lab::Now() >= deadline) return false;
    lab::SleepFor(interval);
  }
  return true;
}

// The leader can still send to every follower but hears from none of them:
// its heartbeats arrive, their replies and every RequestVote to it are lost.
// It cannot learn of a newer term, so only its own check can tell it that
// it no longer leads; once it stops, the others must elect a new leader and
// make progress, though it keeps disrupting them with RequestVotes.
TEST(Raft2Beyond, OneWayPartition) {
  RunOnCluster({.servers = 5}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (beyond): leader partitioned one way (sends, hears nothing)");

    cfg.One(101, servers, false);
    const int leader1 = cfg.CheckOneLeader();
    const int64_t term1 = cfg.GetState(leader1).first;
    for (int i = 0; i < servers; ++i) {
      if (i != leader1) cfg.SetLink(i, leader1, false);
    }

    // Having heard from no majority, the old leader must step down.
    if (!PollUntil([&] { return !cfg.GetState(leader1).second; }, 5 * kElectionTimeout)) {
      cfg.Fail(absl::StrCat("old leader ", leader1, " (term ", term1,
                            ") still claims to lead after ", absl::FormatDuration(5 * kElectionTimeout),
                            " without hearing from a majority"));
    }

    // Another peer must take over, in a later term...
    int leader2 = -1;
    int64_t term2 = -1;
    const bool elected = PollUntil(
        [&] {
          for (int i = 0; i < servers; ++i) {
            if (i == leader1) continue;
            auto [term, is_leader] = cfg.GetState(i);
            if (is_leader && term > term1) {
              leader2 = i;
              term2 = term;
              return true;
            }
          }
          return false;
        },
        5 * kElectionTimeout);
    if (!elected) cfg.Fail("no new leader among the peers that can hear each other");
    std::printf("  old leader %d (term %lld) stepped down; %d leads term %lld\n", leader1,
                static_cast<long long>(term1), leader2, static_cast<long long>(term2));

    // ... and the four must make progress without it.
    for (int k = 0; k < 5; ++k) cfg.One(102 + k, servers - 1, true);
    if (cfg.GetState(leader1).second) {
      cfg.Fail(absl::StrCat("old leader ", leader1, " claims to lead again while cut off"));
    }

    // Heal: everyone agrees again, the old leader included.
    for (int i = 0; i < servers; ++i) {
      if (i != leader1) cfg.SetLink(i, leader1, true);
    }
    cfg.One(110, servers, true);
    cfg.End();
  });
}

// A follower that was away while the others moved on by ~1000 entries over
// several terms (and that holds entries of its own term that they never
// committed) must catch up in a few AppendEntries: a round trip per
// conflicting term (§5.3's optimization), not per entry.
TEST(Raft2Beyond, FarBehindFollowerCatchesUpInFewRoundTrips) {
  RunOnCluster({.servers = 5}, [](Config& cfg, const int servers) {
    // One round trip per conflicting term (here the follower's own term,
    // plus the suffix it lacks), again for each leader it meets while it
    // catches up, and a few heartbeats. Backing up an entry at a time takes
    // ~1000.
    const int64_t kMaxAppendEntries = 30;
    const int kRounds = 4;
    const int kPerRound = 250;
    cfg.Begin("Test (beyond): far-behind follower catches up in few round trips");
    cfg.One(RandomCommand(), servers, true);

    // The future laggard leads its term alone and accepts 50 entries that
    // can never commit.
    const int behind = cfg.CheckOneLeader();
    cfg.Disconnect(behind);
    for (int k = 0; k < 50; ++k) cfg.Start(behind, RandomCommand());

    // Meanwhile the others commit kRounds * kPerRound entries; after each
    // batch the leader steps away until another one is elected, so the
    // entries span several terms.
    int64_t started = 0;
    for (int r = 0; r < kRounds; ++r) {
      const int leader = cfg.CheckOneLeader();
      for (int k = 0; k < kPerRound - 1; ++k) {
        if (cfg.Start(leader, RandomCommand()).is_leader) ++started;
      }
      cfg.One(RandomCommand(), servers - 1, true);
      cfg.Disconnect(leader);
      cfg.One(RandomCommand(), servers - 2, true);
      cfg.Connect(leader);
    }
    const int64_t last = cfg.One(RandomCommand(), servers - 1, true);
    const int64_t term = cfg.GetState(cfg.CheckOneLeader()).first;

    // Back it comes; count the AppendEntries it receives until it has
    // applied everything.
    const int64_t before = cfg.AppendEntriesCount(behind);
    const absl::Time t0 = lab::Now();
    cfg.Connect(behind);
    if (!PollUntil([&] { return cfg.NCommitted(last).count == servers; }, absl::Seconds(30),
                   absl::Milliseconds(10))) {
      cfg.Fail(absl::StrCat("server ", behind, " did not catch up to index ", last,
                            " within 30 s"));
    }
    const int64_t rpcs = cfg.AppendEntriesCount(behind) - before;
    std::printf("  server %d caught up %lld entries (%lld started, leader term %lld) in %lld "
                "AppendEntries, %.1f s\n",
                behind, static_cast<long long>(last), static_cast<long long>(started),
                static_cast<long long>(term), static_cast<long long>(rpcs),
                absl::ToDoubleSeconds(lab::Now() - t0));
    if (rpcs > kMaxAppendEntries) {
      cfg.Fail(absl::StrCat("server ", behind, " needed ", rpcs, " AppendEntries to catch up ",
                            last, " entries; expected at most ", kMaxAppendEntries,
                            " (one round trip per conflicting term, not per entry)"));
    }
    cfg.End();
  });
}

// Election Safety (Figure 3), checked all along an unreliable churn run: a
// watcher asks every peer GetState every 10 ms, and the tester's safety
// monitor (on in every test) looks at every AppendEntries too; two leaders
// in one term fail the test at once, even if they never lead at the same
// moment. (The monitor and the appliers check the other safety properties
// continuously: raft/safety_monitor.h.)
TEST(Raft2Beyond, AtMostOneLeaderPerTermUnderChurn) {
  RunOnCluster({.servers = 5, .unreliable = true}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (beyond): at most one leader per term, checked continuously");

    // Shared with the tasks, which outlive this frame until the Config stops
    // them.
    auto stop = std::make_shared<std::atomic<bool>>(false);
    // Filled by the watcher; read after it has ended.
    auto leader_of_term = std::make_shared<std::map<int64_t, int>>();
    auto polls = std::make_shared<int64_t>(0);
    WaitGroup wg;
    cfg.Go(
        "leader watcher",
        [&cfg, stop, leader_of_term, polls] {
          while (!stop->load()) {
            for (int i = 0; i < cfg.n(); ++i) {
              auto [term, is_leader] = cfg.GetState(i);
              if (!is_leader) continue;
              auto [it, fresh] = leader_of_term->emplace(term, i);
              if (!fresh && it->second != i) {
                cfg.Fail(absl::StrCat("term ", term, " has two leaders: ", it->second, " and ",
                                      i, " (GetState)"));
              }
            }
            ++*polls;
            lab::SleepFor(absl::Milliseconds(10));
          }
        },
        &wg);
    // Clients keep proposing on every peer, so leaders have work to lose.
    for (int c = 0; c < 3; ++c) {
      cfg.Go(
          absl::StrCat("client ", c),
          [&cfg, stop, c] {
            while (!stop->load()) {
              for (int i = 0; i < cfg.n(); ++i) cfg.Start(i, RandomCommand());
              lab::SleepFor(absl::Milliseconds(30 + 17 * c));
            }
          },
          &wg);
    }

    // ~10 s of random crashes, restarts, disconnections and reconnections.
    // Every fourth round also takes away whoever leads, so that leadership
    // changes hands whatever the draws; two rounds later, every peer is
    // crashed and restarted at once: they all time out together, the most
    // contested kind of election.
    const absl::Time t0 = lab::Now();
    for (int round = 0; lab::Now() - t0 < absl::Seconds(10); ++round) {
      if (round % 4 == 3) CrashAndRestartAll(cfg);
      if (round % 4 == 1) {
        for (int i = 0; i < servers; ++i) {
          if (!cfg.GetState(i).second) continue;
          if (lab::RandInt(0, 2) == 0) {
            cfg.Crash1(i);
          } else {
            cfg.Disconnect(i);
          }
        }
      }
      ChurnOnce(cfg);
      lab::SleepFor(kElectionTimeout / 2);
    }
    stop->store(true);
    wg.Wait();
    cfg.CheckFailed();
    std::printf("  %lld polls saw leaders in %zu terms\n", static_cast<long long>(*polls),
                leader_of_term->size());
    // The watcher must really have watched, and seen leadership change.
    if (*polls < 500) cfg.Fail(absl::StrCat("the watcher polled only ", *polls, " times"));
    if (leader_of_term->size() < 2) cfg.Fail("the churn never changed the leader");

    // All back: they must agree again.
    HealAll(cfg);
    cfg.One(RandomCommand(), servers, true);
    cfg.End();
  });
}

// Slow follower: one peer's service applies ten times slower than the
// others'. The cluster must keep committing at the fast peers' pace, every
// peer's persisted Raft state must stay bounded, the slow peer's too
// (holding every entry its service has yet to apply, it passes 64 KiB in a
// few seconds here), and once the load stops the slow peer must catch up.
//
// How the reference stays bounded: a follower takes no new entries while
// more than 16 KiB of committed ones wait for its service (raft.cc,
// kMaxUnappliedBytes). The leader does not wait for it: it commits with the
// other follower, compacts its own log as its service asks, and once its
// snapshot passes what the slow peer has, sends InstallSnapshot, which
// brings the slow peer forward in one step.
TEST(Raft2Beyond, SlowFollowerKeepsUpInBoundedMemory) {
  RunOnCluster({.servers = 3, .snapshot = true}, [](Config& cfg, const int servers) {
    cfg.Begin("Test (beyond): a follower that applies 10x slower than the others");
    const absl::Duration kFastApply = absl::Milliseconds(4);
    const absl::Duration kSlowApply = 10 * kFastApply;
    const absl::Duration kLoad = absl::Seconds(10);
    const int kClients = 5;
    const int kCommandBytes = 100;
    const int64_t kMaxRaftState = 64 * 1024;

    cfg.One(RandomString(kCommandBytes), servers, true);
    const int leader = cfg.CheckOneLeader();
    const int slow = (leader + 1) % servers;
    for (int i = 0; i < servers; ++i) cfg.SetApplyDelay(i, i == slow ? kSlowApply : kFastApply);

    // Clients commit command after command on a majority. Shared with the
    // client tasks, which outlive this frame until the Config stops them.
    auto stop = std::make_shared<std::atomic<bool>>(false);
    std::vector<std::shared_ptr<lab::Chan<int64_t>>> done;  // agreements; -1: failed
    for (int c = 0; c < kClients; ++c) {
      auto ch = std::make_shared<lab::Chan<int64_t>>(1);
      done.push_back(ch);
      cfg.Go(absl::StrCat("client ", c), [&cfg, stop, ch, servers, kCommandBytes] {
        int64_t agreements = 0;
        try {
          while (!stop->load()) {
            cfg.One(RandomString(kCommandBytes), servers / 2 + 1, true);
            ++agreements;
          }
        } catch (const TestFailed&) {
          agreements = -1;  // recorded
        }
        ch->Send(agreements);
      });
    }

    int64_t max_state = 0;
    const absl::Time t0 = lab::Now();
    while (lab::Now() - t0 < kLoad) {
      lab::SleepFor(absl::Milliseconds(50));
      max_state = std::max(max_state, cfg.LogSize());
      if (max_state > kMaxRaftState) {
        cfg.Fail(absl::StrCat("a peer's persisted Raft state reached ", max_state,
                              " bytes (limit ", kMaxRaftState, ") while server ", slow,
                              " applied slowly: its log must not hold everything it has not "
                              "applied yet"));
      }
    }
    stop->store(true);
    int64_t agreements = 0;
    for (auto& ch : done) {
      const int64_t n = *ch->Recv();
      if (n < 0) cfg.Fail("a client failed");
      agreements += n;
    }
    // The slow service alone could apply kLoad / kSlowApply commands.
    const int64_t slow_pace = kLoad / kSlowApply;
    if (agreements < 2 * slow_pace) {
      cfg.Fail(absl::StrCat("only ", agreements, " agreements in ", absl::FormatDuration(kLoad),
                            "; the slow server alone applies ", slow_pace,
                            ": the cluster must not go at its pace"));
    }

    // Load off: the slow peer must catch up.
    const int64_t last = cfg.One(RandomString(kCommandBytes), servers / 2 + 1, true);
    if (!PollUntil([&] { return cfg.NCommitted(last).count == servers; }, absl::Seconds(30))) {
      cfg.Fail(absl::StrCat("server ", slow, " did not catch up to index ", last, " within 30 s"));
    }
    std::printf("  %lld agreements in %s; largest Raft state %lld bytes\n",
                static_cast<long long>(agreements), absl::FormatDuration(kLoad).c_str(),
                static_cast<long long>(max_state));
    cfg.End();
  });
}

}  // namespace
}  // namespace raft
