// raft/safety_monitor_test.cc
//
// Each safety monitor (safety_monitor.h) on observations fed by hand: it
// stays quiet on what a correct Raft does, and fires, naming the property,
// on what a broken one does. (raft/standins runs them on whole clusters
// of broken Rafts.)

#include "raft/safety_monitor.h"

#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace raft {
namespace {

RequestVoteArgs Ask(int64_t term, int candidate, int64_t last_index = 0, int64_t last_term = 0) {
  return RequestVoteArgs{term, candidate, last_index, last_term};
}

RequestVoteReply Grant(int64_t term, bool granted = true) { return RequestVoteReply{term, granted}; }

AppendEntriesArgs Append(int64_t term, int leader, int64_t prev_index,
                         std::vector<LogEntry> entries, int64_t leader_commit) {
  AppendEntriesArgs a;
  a.term = term;
  a.leader_id = leader;
  a.prev_log_index = prev_index;
  a.entries = std::move(entries);
  a.leader_commit = leader_commit;
  return a;
}

AppendEntriesReply Ok(int64_t term) {
  AppendEntriesReply r;
  r.term = term;
  r.success = true;
  return r;
}

// Peer i received `args` and acknowledged it.
std::string Acked(SafetyMonitor& m, int i, const AppendEntriesArgs& args) {
  std::string violation = m.ObserveAppendEntries(i, args);
  m.ObserveAppendEntriesReply(i, args, Ok(args.term));
  return violation;
}

void ExpectFires(const std::string& violation, const std::string& property) {
  EXPECT_NE(violation.find(property), std::string::npos) << "got: \"" << violation << "\"";
}

TEST(SafetyMonitor, ElectionSafetyQuietOnOneLeaderPerTerm) {
  SafetyMonitor m(3);
  EXPECT_EQ(m.ObserveState(0, 1, true), "");
  EXPECT_EQ(m.ObserveState(0, 1, true), "");
  EXPECT_EQ(m.ObserveAppendEntries(1, Append(1, 0, 0, {}, 0)), "");
  EXPECT_EQ(m.ObserveState(1, 2, true), "");  // a new term, a new leader
  EXPECT_EQ(m.ObserveAppendEntries(2, Append(1, 0, 0, {}, 0)), "");  // a stale one
  EXPECT_EQ(m.ObserveState(2, 2, false), "");
}

TEST(SafetyMonitor, ElectionSafetyFiresOnTwoLeadersInATerm) {
  SafetyMonitor m(3);
  EXPECT_EQ(m.ObserveState(0, 4, true), "");
  ExpectFires(m.ObserveState(2, 4, true), "Election Safety violated: term 4 has two leaders");
}

TEST(SafetyMonitor, ElectionSafetySeesAppendEntriesAndInstallSnapshotToo) {
  SafetyMonitor m(3);
  EXPECT_EQ(m.ObserveAppendEntries(1, Append(5, 0, 0, {}, 0)), "");
  ExpectFires(m.ObserveInstallSnapshot(0, InstallSnapshotArgs{5, 2, 10, 4, "x"}),
              "term 5 has two leaders");
  // Across restarts: the monitor keys leaders by peer, not by instance.
  SafetyMonitor m2(3);
  EXPECT_EQ(m2.ObserveState(1, 7, true), "");
  EXPECT_EQ(m2.ObserveState(1, 7, true), "");  // 1 again, restarted or not
  ExpectFires(m2.ObserveAppendEntries(1, Append(7, 2, 0, {}, 0)), "Election Safety violated");
}

TEST(SafetyMonitor, OneVoteQuietOnVotesForOneCandidate) {
  SafetyMonitor m(3);
  EXPECT_EQ(m.ObserveRequestVote(1, Ask(3, 0), Grant(3)), "");
  EXPECT_EQ(m.ObserveRequestVote(1, Ask(3, 0), Grant(3)), "");  // a retry
  EXPECT_EQ(m.ObserveRequestVote(1, Ask(3, 2), Grant(3, false)), "");  // refused
  EXPECT_EQ(m.ObserveRequestVote(1, Ask(4, 2), Grant(4)), "");  // next term
}

TEST(SafetyMonitor, OneVoteFiresOnTwoGrantsInATerm) {
  SafetyMonitor m(3);
  EXPECT_EQ(m.ObserveRequestVote(1, Ask(3, 0), Grant(3)), "");
  // The same voter again after a restart (the monitor keys votes by peer):
  // it forgot votedFor.
  ExpectFires(m.ObserveRequestVote(1, Ask(3, 2), Grant(3)),
              "one vote per term violated: peer 1 voted for 0 and for 2 in term 3");
}

TEST(SafetyMonitor, OneVoteFiresOnACandidateVotingForAnother) {
  SafetyMonitor m(3);
  // 2 asks for votes in term 6, so it voted for itself...
  EXPECT_EQ(m.ObserveRequestVote(0, Ask(6, 2), Grant(6, false)), "");
  // ... and must not grant 1 a vote in term 6.
  ExpectFires(m.ObserveRequestVote(2, Ask(6, 1), Grant(6)), "peer 2 voted for 2 and for 1");
}

TEST(SafetyMonitor, LogMatchingFiresOnTwoCommandsAtOneIndexAndTerm) {
  SafetyMonitor m(3);
  EXPECT_EQ(m.ObserveAppendEntries(1, Append(2, 0, 0, {{2, "a"}, {2, "b"}}, 0)), "");
  // The same leader later, from index 2: the same entry, fine.
  EXPECT_EQ(m.ObserveAppendEntries(2, Append(2, 0, 1, {{2, "b"}}, 0)), "");
  // Term 3's leader may replace an uncommitted term-2 entry with its own.
  EXPECT_EQ(m.ObserveAppendEntries(2, Append(3, 1, 1, {{3, "c"}}, 0)), "");
  ExpectFires(m.ObserveAppendEntries(1, Append(2, 0, 1, {{2, "z"}}, 0)),
              "Log Matching violated: leader 0 of term 2 sent index 2 term 2");
}

TEST(SafetyMonitor, LeaderCompletenessQuietWhenLaterLeadersKeepCommittedEntries) {
  SafetyMonitor m(3);
  EXPECT_EQ(Acked(m, 1, Append(1, 0, 0, {{1, "a"}, {1, "b"}}, 0)), "");
  m.ObserveApplied(1, "a");
  m.ObserveApplied(2, "b");
  EXPECT_EQ(m.ObserveAppendEntries(1, Append(1, 0, 2, {}, 2)), "");  // commits 1..2 in term 1
  EXPECT_EQ(m.ObserveAppendEntries(2, Append(2, 1, 0, {{1, "a"}, {1, "b"}, {2, "c"}}, 2)), "");
  // A stale AppendEntries of term 1 with a different, uncommitted entry 3
  // is none of its business.
  EXPECT_EQ(m.ObserveAppendEntries(2, Append(1, 0, 2, {{1, "x"}}, 2)), "");
}

TEST(SafetyMonitor, LeaderCompletenessFiresOnALeaderMissingACommittedEntry) {
  SafetyMonitor m(3);
  EXPECT_EQ(Acked(m, 1, Append(1, 0, 0, {{1, "a"}, {1, "b"}}, 0)), "");
  EXPECT_EQ(m.ObserveAppendEntries(1, Append(1, 0, 2, {}, 2)), "");
  m.ObserveApplied(1, "a");
  m.ObserveApplied(2, "b");
  // Term 3's leader has something else at index 2: it was elected without
  // entry 2, committed in term 1.
  ExpectFires(m.ObserveAppendEntries(1, Append(3, 2, 1, {{3, "q"}}, 0)),
              "Leader Completeness violated: leader 2 of term 3 sent index 2");
}

TEST(SafetyMonitor, CommitmentQuietOnCommitsAMajorityAcknowledgedInTheTerm) {
  SafetyMonitor m(5);
  // Leader 0 of term 2; peers 1 and 2 acknowledge up to 3 (with 0, a
  // majority of 5); peer 3 only up to 1.
  EXPECT_EQ(Acked(m, 1, Append(2, 0, 0, {{2, "a"}, {2, "b"}, {2, "c"}}, 0)), "");
  EXPECT_EQ(Acked(m, 2, Append(2, 0, 1, {{2, "b"}, {2, "c"}}, 0)), "");
  EXPECT_EQ(Acked(m, 3, Append(2, 0, 0, {{2, "a"}}, 0)), "");
  EXPECT_EQ(m.ObserveAppendEntries(3, Append(2, 0, 1, {{2, "b"}}, 3)), "");
  // Its successor starts from what it received: commit 3 needs no new acks.
  EXPECT_EQ(m.ObserveAppendEntries(0, Append(3, 3, 3, {}, 3)), "");
  // An InstallSnapshot the peer accepted acknowledges its index.
  InstallSnapshotArgs snap{4, 1, 6, 4, "s"};
  EXPECT_EQ(m.ObserveInstallSnapshot(2, snap), "");
  m.ObserveInstallSnapshotReply(2, snap, InstallSnapshotReply{4});
  EXPECT_EQ(m.ObserveInstallSnapshot(4, snap), "");
  m.ObserveInstallSnapshotReply(4, snap, InstallSnapshotReply{4});
  EXPECT_EQ(m.ObserveAppendEntries(2, Append(4, 1, 6, {}, 6)), "");
}

TEST(SafetyMonitor, CommitmentFiresOnACommitNoMajorityAcknowledgedInTheTerm) {
  SafetyMonitor m(5);
  // Peer 1 acknowledged index 4 to leader 0 in term 2...
  EXPECT_EQ(Acked(m, 1, Append(2, 0, 0, {{2, "a"}, {2, "b"}, {2, "c"}, {2, "d"}}, 0)), "");
  EXPECT_EQ(Acked(m, 2, Append(2, 0, 0, {{2, "a"}}, 0)), "");
  EXPECT_EQ(m.ObserveAppendEntries(2, Append(2, 0, 1, {}, 1)), "");  // commits 1
  // ...and when 0 leads again in term 5, peer 2 acknowledges index 4 but
  // no one else does: 0 has no majority for 4 in term 5 (it used peer 1's
  // reply of term 2).
  EXPECT_EQ(Acked(m, 2, Append(5, 0, 1, {{5, "x"}, {5, "y"}, {5, "z"}}, 1)), "");
  ExpectFires(m.ObserveAppendEntries(2, Append(5, 0, 4, {}, 4)),
              "Commitment violated: leader 0 of term 5 says it committed index 4, but in term 5 "
              "a majority acknowledged only up to index 0, and it could know of commits up to "
              "index 1 from before");
  // A failed reply acknowledges nothing.
  SafetyMonitor m2(3);
  const AppendEntriesArgs a = Append(1, 0, 0, {{1, "a"}}, 0);
  EXPECT_EQ(m2.ObserveAppendEntries(1, a), "");
  m2.ObserveAppendEntriesReply(1, a, AppendEntriesReply{});
  ExpectFires(m2.ObserveAppendEntries(1, Append(1, 0, 1, {}, 1)), "Commitment violated");
}

TEST(SafetyMonitor, OneVoteIgnoresAVoteGrantedByACrashedInstance) {
  // Seen in Raft2C.UnreliableChurn, sim seed 157: a RequestVote handler of
  // peer 1 still running when the tester crashed it granted a vote; its
  // reply was never delivered and it persisted into the old instance's
  // persister, so the restarted peer may vote again in that term.
  SafetyMonitor m(3);
  const int64_t first = m.Instance(1);
  m.Crashed(1);
  EXPECT_NE(m.Instance(1), first);
  EXPECT_EQ(m.ObserveRequestVote(1, Ask(24, 0), Grant(24), first), "");
  EXPECT_FALSE(m.VoteProbe(1).has_value());  // not seen voting
  EXPECT_EQ(m.ObserveRequestVote(1, Ask(24, 2), Grant(24), m.Instance(1)), "");
}

TEST(SafetyMonitor, OneVoteFiresOnTwoGrantsInATermAcrossACrash) {
  // A vote granted by the live instance counts: its next one must refuse.
  SafetyMonitor m(3);
  EXPECT_EQ(m.ObserveRequestVote(1, Ask(24, 0), Grant(24), m.Instance(1)), "");
  m.Crashed(1);
  ExpectFires(m.ObserveRequestVote(1, Ask(24, 2), Grant(24), m.Instance(1)),
              "peer 1 voted for 0 and for 2 in term 24");
}

TEST(SafetyMonitor, VoteProbeAsksForASecondVoteInTheLastTermVotedIn) {
  SafetyMonitor m(3);
  EXPECT_FALSE(m.VoteProbe(1).has_value());  // never seen voting
  EXPECT_EQ(m.ObserveRequestVote(1, Ask(3, 0), Grant(3)), "");
  EXPECT_EQ(m.ObserveRequestVote(0, Ask(5, 1), Grant(5, false)), "");  // 1 a candidate
  EXPECT_EQ(m.ObserveRequestVote(0, Ask(2, 2), Grant(2)), "");  // a vote by peer 0
  std::optional<RequestVoteArgs> probe = m.VoteProbe(1);
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->term, 5);
  EXPECT_EQ(probe->candidate_id, 0);  // not itself, whom it voted for
  // Refused: fine, and the probe's candidate is not taken to have run.
  EXPECT_EQ(m.ObserveVoteProbe(1, *probe, Grant(5, false)), "");
  EXPECT_EQ(m.ObserveRequestVote(0, Ask(5, 2), Grant(5)), "");
  // Granted: the restarted peer forgot its vote.
  ExpectFires(m.ObserveVoteProbe(1, *probe, Grant(5)),
              "peer 1 voted for 1 and for 0 in term 5 (it granted the tester's RequestVote");
}

TEST(SafetyMonitor, DescribesPeersAsLastSeen) {
  SafetyMonitor m(3);
  m.ObserveState(0, 3, true);
  m.ObserveRequestVote(0, Ask(4, 1), Grant(3, false));
  m.ObserveState(2, 2, false);
  EXPECT_EQ(m.DescribePeers(), "peers as last seen: 0 term 3 leader; 1 term 4 candidate; 2 term 2");
}

}  // namespace
}  // namespace raft
