// raft/standins/standin_test.cc
//
// The tester's own checks (Kill as in Go, kill_watch.h; the safety
// monitors, safety_monitor.h) against whole clusters of broken Rafts: each
// scenario passes on the reference solution and fails, naming the right
// property, on its stand-in, a copy of the reference with one deliberate
// bug made at build time (raft/standins/BUILD, RAFT_STANDINS). The student's raft.cc
// carries no test hooks.
//
// Built once per stand-in (STANDIN names it, "" for the reference); each
// stand-in's binary runs the scenario aimed at it, the reference's runs
// them all.

#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "raft/config.h"

#ifndef STANDIN
#define STANDIN ""
#endif

namespace raft {
namespace {

// Runs `body` as a Lab 2 test. On the stand-in `standin`, the test must
// fail, and its first failure must contain `expected`; on any other Raft it
// must pass.
void RunAgainst(const std::string& standin, const std::string& expected,
                const std::function<void()>& body) {
  if (standin != STANDIN) {
    RunRaftTest(body);
    return;
  }
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    RunRaftTest(body);
  }
  ASSERT_GT(failures.size(), 0) << "the stand-in \"" << standin << "\" passed";
  const std::string first = failures.GetTestPartResult(0).message();
  EXPECT_NE(first.find(expected), std::string::npos)
      << "expected a failure with \"" << expected << "\", got: " << first;
  std::printf("the stand-in failed as expected:\n%s\n", first.c_str());
}

// Crashes every peer and restarts them all at once: they time out together,
// the most contested kind of election.
void CrashAndRestartAll(Config& cfg) {
  for (int i = 0; i < cfg.n(); ++i) cfg.Crash1(i);
  for (int i = 0; i < cfg.n(); ++i) {
    cfg.Start1(i);
    cfg.Connect(i);
  }
}

// A crashed leader and a crashed follower must go quiet once killed: no
// heartbeats, no elections. (Stand-in: Kill() does nothing.)
TEST(StandIn, KilledPeersGoQuiet) {
  RunAgainst("ignores_kill", "killed instance sent", [] {
    Config cfg(3, /*unreliable=*/false, /*snapshot=*/false);
    cfg.Begin("Stand-in: killed peers go quiet");
    cfg.One(101, 3, /*retry=*/false);
    const int leader = cfg.CheckOneLeader();
    cfg.Crash1(leader);
    cfg.Crash1((leader + 1) % 3);
    lab::SleepFor(2 * kElectionTimeout);
    cfg.Start1(leader);
    cfg.Connect(leader);
    cfg.One(102, 2, /*retry=*/true);
    cfg.End();
  });
}

// Elections after whole-cluster restarts, many times over, on an
// unreliable network (delayed RequestVotes make candidacies overlap).
void ElectionRounds(const char* title) {
  Config cfg(5, /*unreliable=*/true, /*snapshot=*/false);
  cfg.Begin(title);
  for (int round = 0; round < 30; ++round) {
    CrashAndRestartAll(cfg);
    cfg.CheckOneLeader();
  }
  cfg.End();
}

// A peer votes at most once per term. (Stand-in: RequestVote ignores
// votedFor.)
TEST(StandIn, OneVotePerPeerPerTerm) {
  RunAgainst("votes_twice", "one vote per term violated",
             [] { ElectionRounds("Stand-in: one vote per peer per term"); });
}

// The same across its own restarts. (Stand-in: a vote granted without a
// change of term is not persisted.)
TEST(StandIn, OneVotePerPeerPerTermAcrossRestarts) {
  RunAgainst("forgets_vote", "one vote per term violated", [] {
    ElectionRounds("Stand-in: one vote per peer per term, across restarts");
  });
}

// At most one leader per term. (Stand-in: a candidate leads with a single
// vote besides its own.)
TEST(StandIn, OneLeaderPerTerm) {
  RunAgainst("leads_without_majority", "Election Safety violated",
             [] { ElectionRounds("Stand-in: one leader per term"); });
}

// A peer that missed committed entries must not become leader and hand out
// other entries at their indices. (Stand-in: RequestVote skips the
// up-to-date check, §5.4.1.)
TEST(StandIn, LeadersKeepCommittedEntries) {
  RunAgainst("no_up_to_date_check", "Leader Completeness violated", [] {
    Config cfg(3, /*unreliable=*/false, /*snapshot=*/false);
    cfg.Begin("Stand-in: leaders keep committed entries");
    cfg.One(101, 3, /*retry=*/false);
    const int leader = cfg.CheckOneLeader();
    const int stale = (leader + 1) % 3;
    // The stale peer misses five commits, and its term runs ahead.
    cfg.Disconnect(stale);
    for (int k = 0; k < 5; ++k) cfg.One(102 + k, 2, /*retry=*/false);
    lab::SleepFor(2 * kElectionTimeout);
    // It comes back as the leader leaves; whoever leads next gets commands.
    cfg.Disconnect(leader);
    cfg.Connect(stale);
    const absl::Time t0 = lab::Now();
    for (int k = 0; lab::Now() - t0 < 3 * kElectionTimeout; ++k) {
      for (int i = 0; i < 3; ++i) {
        if (i != leader) cfg.Start(i, 200 + k);
      }
      lab::SleepFor(absl::Milliseconds(50));
    }
    cfg.Connect(leader);
    cfg.One(300, 3, /*retry=*/true);
    cfg.End();
  });
}

// A live peer applies each index once, in order. (Stand-in: each batch the
// applier sends starts again at the last index it applied.)
TEST(StandIn, AppliesEachIndexOnce) {
  RunAgainst("reapplies", "applies each index once", [] {
    Config cfg(3, /*unreliable=*/false, /*snapshot=*/false);
    cfg.Begin("Stand-in: each index applied once");
    for (int k = 0; k < 5; ++k) cfg.One(101 + k, 3, /*retry=*/false);
    cfg.End();
  });
}

}  // namespace
}  // namespace raft
