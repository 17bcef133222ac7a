// raft/scripted_test.cc
//
// Graded Lab 2 scenarios that the Go suite leaves to chance (framework, not
// student code). Each plays, step by step, a situation that the Raft paper
// or the Students' Guide to Raft warns about, so that a solution with that
// mistake fails on every seed rather than on the rare seed whose schedule
// happens to build the situation:
//
//   Raft2B.StaleCandidateCannotStallElections  a peer resets its election
//       timer when it denies a vote;
//   Raft2B.DeposedLeaderCannotStallElections   a peer resets its election
//       timer on an AppendEntries of an older term;
//   Raft2C.Figure8AsDrawn                      a leader commits an entry of
//       an earlier term by counting replicas (the paper's Figure 8);
//   Raft2C.LeaderIgnoresRepliesOfItsEarlierTerm  a leader counts a reply to
//       an AppendEntries it sent when it led an earlier term.
//
// The first two send messages "as" a peer that is cut off (Config::
// SendAsPeer): messages a correct peer may well send, from a candidate that
// retries its RequestVotes or a leader that has not noticed it was deposed.
// The last holds a reply on a congested link (Config::HoldLink). They run
// in either runtime, like the Go-derived tests in raft_test.cc.

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
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

// How often the stale peers below repeat themselves: well under any
// election timeout, so a peer that lets them reset its timer never stands.
constexpr absl::Duration kStaleRepeat = absl::Milliseconds(50);

// Starts a tester task per peer in `to` that sends `send(peer)` every
// kStaleRepeat until *stop.
void RepeatToPeers(Config& cfg, const std::vector<int>& to, const std::string& what,
                   std::shared_ptr<std::atomic<bool>> stop,
                   std::function<void(int peer)> send) {
  for (const int peer : to) {
    cfg.Go(absl::StrCat(what, " to ", peer), [peer, stop, send] {
      while (!stop->load()) {
        send(peer);
        lab::SleepFor(kStaleRepeat);
      }
    });
  }
}

std::vector<int> AllBut(int servers, std::vector<int> left_out) {
  std::vector<int> rest;
  for (int i = 0; i < servers; ++i) {
    if (std::find(left_out.begin(), left_out.end(), i) == left_out.end()) rest.push_back(i);
  }
  return rest;
}

// A candidate whose log is behind keeps asking for votes in one term (it
// may retry its RequestVotes as often as it likes, §5.1). The others must
// refuse it (§5.4.1) and must not reset their election timers for it
// (Figure 2 resets them only on granting a vote): one of them has to time
// out and win a later term while it is still asking.
TEST(Raft2B, StaleCandidateCannotStallElections) {
  RunRaftTest([] {
    constexpr int kServers = 5;
    Config cfg(kServers, /*unreliable=*/false, /*snapshot=*/false);
    cfg.Begin("Test (2B): a candidate that cannot win does not stall elections");

    cfg.One(RandomCommand(), kServers, /*retry=*/true);
    const int leader = cfg.CheckOneLeader();
    const int64_t term = cfg.CheckTerms();
    const int stale = (leader + 1) % kServers;
    cfg.Disconnect(stale);
    const std::vector<int> others = AllBut(kServers, {stale});

    // Its requests carry a term newer than anyone's, and the log of a peer
    // that holds nothing.
    // (Fields set by name: a solution may declare more, in any order.)
    RequestVoteArgs args;
    args.term = term + 1;
    args.candidate_id = stale;
    args.last_log_index = 0;
    args.last_log_term = 0;
    auto stop = std::make_shared<std::atomic<bool>>(false);
    RepeatToPeers(cfg, others, "stale RequestVote", stop, [&cfg, args, stale](int peer) {
      RequestVoteReply reply;
      if (cfg.SendAsPeer(peer, args, &reply) && reply.vote_granted) {
        cfg.Fail(absl::StrCat("peer ", peer, " voted for peer ", stale, " in term ", args.term,
                              ", whose log (empty) is behind its own (§5.4.1)"));
      }
    });

    // The leader steps down for the newer term; a peer must then win a
    // later one, though the stale candidate never stops asking.
    cfg.CheckOneLeader();
    cfg.One(RandomCommand(), kServers - 1, /*retry=*/true);

    stop->store(true);
    cfg.Connect(stale);
    cfg.One(RandomCommand(), kServers, /*retry=*/true);
    cfg.End();
  });
}

// A deposed leader that has not noticed keeps sending heartbeats of its
// old term (its requests get through, the replies telling it the new term
// do not). The others must reject them (§5.1) and must not take them for a
// current leader's: when the new leader goes away, they have to elect
// another one while the old heartbeats keep coming.
TEST(Raft2B, DeposedLeaderCannotStallElections) {
  RunRaftTest([] {
    constexpr int kServers = 5;
    Config cfg(kServers, /*unreliable=*/false, /*snapshot=*/false);
    cfg.Begin("Test (2B): a deposed leader's heartbeats do not stall elections");

    cfg.One(RandomCommand(), kServers, /*retry=*/true);
    const int deposed = cfg.CheckOneLeader();
    const int64_t old_term = cfg.CheckTerms();
    cfg.Disconnect(deposed);
    const int second = cfg.CheckOneLeader();
    cfg.One(RandomCommand(), kServers - 1, /*retry=*/true);

    // The second leader goes away too; three peers remain, a majority.
    cfg.Disconnect(second);
    const std::vector<int> remaining = AllBut(kServers, {deposed, second});
    AppendEntriesArgs heartbeat;
    heartbeat.term = old_term;
    heartbeat.leader_id = deposed;
    heartbeat.prev_log_index = 0;
    heartbeat.prev_log_term = 0;
    heartbeat.leader_commit = 0;
    auto stop = std::make_shared<std::atomic<bool>>(false);
    RepeatToPeers(cfg, remaining, "stale AppendEntries", stop,
                  [&cfg, heartbeat, deposed](int peer) {
                    AppendEntriesReply reply;
                    if (cfg.SendAsPeer(peer, heartbeat, &reply) && reply.success) {
                      cfg.Fail(absl::StrCat("peer ", peer, " accepted an AppendEntries of term ",
                                            heartbeat.term, " from deposed leader ", deposed,
                                            " after a newer term began (§5.1)"));
                    }
                  });

    cfg.CheckOneLeader();
    cfg.One(RandomCommand(), kServers - 2, /*retry=*/true);

    stop->store(true);
    cfg.Connect(deposed);
    cfg.Connect(second);
    cfg.One(RandomCommand(), kServers, /*retry=*/true);
    cfg.End();
  });
}

// The paper's Figure 8, played step by step with 5 peers (S1..S5 as in the
// figure). An entry of an earlier term that a majority holds may still be
// replaced by a later leader, so a leader commits by counting replicas only
// entries of its own term (§5.4.2).
TEST(Raft2C, Figure8AsDrawn) {
  RunRaftTest([] {
    constexpr int kServers = 5;
    Config cfg(kServers, /*unreliable=*/false, /*snapshot=*/false);
    cfg.Begin("Test (2C): Figure 8, step by step");

    cfg.One(RandomCommand(), kServers, /*retry=*/true);

    // (a) S1 leads and appends an entry that reaches S2 only.
    const int s1 = cfg.CheckOneLeader();
    const int s2 = (s1 + 1) % kServers;
    const std::vector<int> rest = AllBut(kServers, {s1, s2});
    for (const int i : rest) cfg.Disconnect(i);
    const StartResult x = cfg.Start(s1, RandomCommand());
    if (!x.is_leader) cfg.Fail(absl::StrCat("leader ", s1, " refused Start()"));
    lab::SleepFor(kElectionTimeout / 2);

    // (b) S1 and S2 fall away; S5 leads a newer term among the other three,
    // and appends an entry that only it holds, at the same index.
    cfg.Disconnect(s1);
    cfg.Disconnect(s2);
    for (const int i : rest) cfg.Connect(i);
    const int s5 = cfg.CheckOneLeader();
    cfg.Disconnect(s5);
    const std::string y = Cmd(RandomCommand());
    const StartResult at = cfg.Start(s5, y);
    if (!at.is_leader || at.index != x.index) {
      cfg.Fail(absl::StrCat("leader ", s5, " of a newer term should accept a command at index ",
                            x.index, "; Start() gave index ", at.index, ", is_leader ",
                            at.is_leader));
    }
    // S3 and S4: the two peers still holding neither entry.
    const int s4 = AllBut(kServers, {s1, s2, s5})[1];

    // (c) S1 or S2 leads again, with S3, in a still newer term: S3 lacks
    // their entry, so it cannot win. The new leader's heartbeats carry the
    // entry to S3, and a majority holds it; but it is of an earlier term,
    // and nothing of the leader's own term is in the log, so it must not
    // be committed (Figure 8 (c)).
    cfg.Disconnect(s4);
    cfg.Connect(s1);
    cfg.Connect(s2);
    const int leader = cfg.CheckOneLeader();
    if (leader != s1 && leader != s2) {
      cfg.Fail(absl::StrCat("peer ", leader, " was elected though peers ", s1, " and ", s2,
                            " hold a more up-to-date log (§5.4.1)"));
    }
    // Long enough for the leader's calls to S3 from (a), when S3 was cut
    // off, to have given up (up to 7 s with long delays, TESTS.md).
    lab::SleepFor(absl::Seconds(8));

    // (d) S5 comes back with S3 and S4 and wins (its last entry's term is
    // newer than that entry's), and its own entry replaces it on S3
    // (Figure 8 (d)). Had a peer applied the old one, the appliers would
    // see two commands at one index now.
    cfg.Disconnect(s1);
    cfg.Disconnect(s2);
    cfg.Connect(s4);
    cfg.Connect(s5);
    cfg.One(RandomCommand(), 3, /*retry=*/true);

    // (e) Everyone agrees, on S5's entry.
    cfg.Connect(s1);
    cfg.Connect(s2);
    cfg.One(RandomCommand(), kServers, /*retry=*/true);
    const Config::Committed committed = cfg.NCommitted(x.index);
    if (committed.command != y) {
      cfg.Fail(absl::StrCat("index ", x.index, " holds \"", committed.command,
                            "\", not the entry of leader ", s5, "'s newer term"));
    }
    cfg.End();
  });
}

// Cuts (works = false) or restores every link between a peer of `a` and
// a peer of `b`, both ways.
void SetLinks(Config& cfg, const std::vector<int>& a, const std::vector<int>& b, bool works) {
  for (const int i : a) {
    for (const int j : b) {
      if (i == j) continue;
      cfg.SetLink(i, j, works);
      cfg.SetLink(j, i, works);
    }
  }
}

// Waits, as CheckOneLeader does (up to 10 rounds of about half a second),
// until one of `peers` says it leads; returns the one of the newest term.
// Peers outside `peers` (cut off by SetLink, and perhaps still believing
// they lead an older term) are not asked.
int LeaderAmong(Config& cfg, const std::vector<int>& peers) {
  for (int round = 0; round < 10; ++round) {
    lab::SleepFor(absl::Milliseconds(lab::RandInt(450, 550)));
    int leader = -1;
    int64_t newest = -1;
    for (const int p : peers) {
      const auto [term, is_leader] = cfg.GetState(p);
      if (is_leader && term > newest) {
        leader = p;
        newest = term;
      }
    }
    if (leader != -1) return leader;
  }
  cfg.Fail(absl::StrCat("no leader among peers ", absl::StrJoin(peers, ", ")));
}

// Starts a command on `leader`, which must accept it at `index`.
int64_t StartAt(Config& cfg, int leader, int64_t index) {
  const StartResult r = cfg.Start(leader, RandomCommand());
  if (!r.is_leader || r.index != index) {
    cfg.Fail(absl::StrCat("leader ", leader, " should accept a command at index ", index,
                          "; Start() gave index ", r.index, ", is_leader ", r.is_leader));
  }
  return r.index;
}

// A reply says nothing about the log of a term other than the one its
// request was sent in (the Students' Guide's "term confusion"). A leader
// sends entries to S2 in term T1; S2's reply is held up on the way back.
// Meanwhile the leader loses its office, its entries are replaced, and it
// leads again in a later term T2 with new entries at those indices, which
// only one other peer holds. Then the old reply arrives: counted, it would
// make the leader believe a majority holds its new entries, and commit
// them (the tester's Commitment check sees a leader_commit no majority
// acknowledged in T2).
TEST(Raft2C, LeaderIgnoresRepliesOfItsEarlierTerm) {
  RunRaftTest([] {
    constexpr int kServers = 5;
    Config cfg(kServers, /*unreliable=*/false, /*snapshot=*/false);
    cfg.Begin("Test (2C): a leader ignores replies to its earlier terms' AppendEntries");

    const int64_t base = cfg.One(RandomCommand(), kServers, /*retry=*/true);

    // S1 leads term T1; its link to S2 is congested: S2 takes the next
    // entries, but the reply will come back late.
    const int s1 = cfg.CheckOneLeader();
    const int s2 = (s1 + 1) % kServers;
    const std::vector<int> others = AllBut(kServers, {s1, s2});
    cfg.SetLink(s2, s1, false);  // nothing of S2's reaches S1 but that reply
    SetLinks(cfg, {s1, s2}, others, false);
    cfg.HoldLink(s1, s2, base + 3);
    for (int k = 1; k <= 3; ++k) StartAt(cfg, s1, base + k);
    lab::SleepFor(kElectionTimeout / 2);

    // The other three elect a leader M in a newer term, who commits an
    // entry at base + 1 and gives S1 (now its follower) one more, at
    // base + 2: S1's entries of T1 are gone.
    const int m = LeaderAmong(cfg, others);
    const std::vector<int> rest = AllBut(kServers, {s1, s2, m});
    const int64_t y1 = StartAt(cfg, m, base + 1);
    cfg.Wait(y1, 3, -1);
    SetLinks(cfg, {s1}, {m}, true);
    cfg.Wait(y1, 4, -1);  // S1 too
    SetLinks(cfg, {m}, rest, false);
    StartAt(cfg, m, base + 2);
    lab::SleepFor(kElectionTimeout / 2);

    // M goes away; S1, whose log is now the most up to date, leads term T2
    // with the other two, and appends an entry at base + 3, which only one
    // of them gets.
    SetLinks(cfg, {m}, {s1}, false);
    SetLinks(cfg, {s1}, rest, true);
    const int leader = LeaderAmong(cfg, AllBut(kServers, {m, s2}));
    if (leader != s1) {
      cfg.Fail(absl::StrCat("peer ", leader, " was elected though peer ", s1,
                            " holds a more up-to-date log (§5.4.1)"));
    }
    SetLinks(cfg, {rest[1]}, AllBut(kServers, {rest[1]}), false);
    StartAt(cfg, s1, base + 3);
    lab::SleepFor(kElectionTimeout / 4);

    // Now S2's reply of term T1 arrives: it acknowledged base + 3 then,
    // when S1's entry there was another one.
    cfg.SetLink(s2, s1, true);
    cfg.ReleaseLink(s1, s2);
    lab::SleepFor(kElectionTimeout / 2);

    // Everyone agrees again.
    SetLinks(cfg, AllBut(kServers, {}), AllBut(kServers, {}), true);
    cfg.One(RandomCommand(), kServers, /*retry=*/true);
    cfg.End();
  });
}

}  // namespace
}  // namespace raft
