// raft/safety_monitor.h
//
// Raft's safety properties (Figure 3), checked continuously by the testers
// of Lab 2 and Lab 3 from what they can see without the student's help
// (framework, not student code): what GetState and Start return, and every
// RequestVote, AppendEntries and InstallSnapshot at the tester's handler
// wrappers, with the replies; and in Lab 2 what the peers apply. On in
// every test.
//
//   SafetyMonitor monitor(n);
//   std::string violation = monitor.ObserveState(i, term, is_leader);
//   if (!violation.empty()) fail(violation + monitor.DescribePeers());
//
// Each Observe* returns "" or a message naming the violated property:
// - Election Safety: at most one leader per term, across restarts. Seen in
//   GetState and Start (is_leader), and in AppendEntries and InstallSnapshot
//   (their sender leads args.term).
// - One vote per peer per term, across its restarts. A peer that grants a
//   RequestVote votes in args.term for args.candidate_id; a peer that sends
//   one voted for itself in args.term (Figure 2: a candidate votes for
//   itself). Two different votes by one peer in one term fail.
// - Log Matching: two AppendEntries entries with the same index and term
//   carry the same command (a leader never changes its own entries, and
//   each term has one leader).
// - Leader Completeness: an AppendEntries of term T with leader_commit K
//   shows that every entry up to K was committed by term T; a leader of a
//   later term must send, at those indices, the commands the peers applied.
// - Commitment: a leader of term T that says (leader_commit K) it committed
//   index K beyond what it could know from before T (the leader_commit
//   and snapshots it received, and what a majority acknowledged in terms
//   it led before) had a majority, counting itself, acknowledge index K in
//   term T:
//   a successful AppendEntries of term T reaching K (prev_log_index plus
//   its entries), or an InstallSnapshot of term T up to K that the peer
//   accepted. Acknowledgements are counted as the handler gives them, so a
//   reply lost afterwards still counts: the check only fires when no
//   majority could have acknowledged K in T (a matchIndex fed by a reply of
//   an earlier term, or by a failed one, or set without any reply).
// (Applied prefixes agreeing, and a live peer never applying an index again
// or going back, are the Lab 2 appliers' checks, in config.cc.)
//
// The tester relies on the Figure 2 fields of raft.h's RPC structs only
// (term, candidate_id, vote_granted, leader_id, prev_log_index, entries,
// leader_commit): the handout declares those structs, and Figure 2 fixes
// what they mean. The optional conflict hints are not read.
//
// Thread safety: every method may be called from any task, RPC handlers
// included. The state is guarded by a TesterMutex (tester_mutex.h), never
// held across a runtime call: a lab::Mutex would add a scheduling point to
// every RPC in the sim runtime and change every run's schedule.

#ifndef RAFT_SAFETY_MONITOR_H_
#define RAFT_SAFETY_MONITOR_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "raft/raft.h"
#include "raft/tester_mutex.h"

namespace raft {

class SafetyMonitor {
 public:
  // n peers; "peer" is what messages call one ("server" in Lab 3).
  explicit SafetyMonitor(int n, std::string peer = "peer");

  // Peer i reported {term, is_leader} (GetState, or Start's result).
  std::string ObserveState(int i, int64_t term, bool is_leader);
  // Peer i handled a RequestVote and replied. `instance` is Instance(i) as
  // it was when the replying instance started (-1: the current one). A vote
  // granted by an instance that has crashed since is not counted: the
  // network delivers no reply of a crashed server, and its next instance
  // starts from what was persisted before the crash.
  std::string ObserveRequestVote(int i, const RequestVoteArgs& args, const RequestVoteReply& reply,
                                 int64_t instance = -1);
  // Server i crashed (it is out of the network). Call it before copying
  // its persister for the next instance.
  void Crashed(int i);
  // The number of server i's current instance (how often it crashed).
  int64_t Instance(int i) const;
  // Peer i received an AppendEntries (before handling it).
  std::string ObserveAppendEntries(int i, const AppendEntriesArgs& args);
  // Peer i handled that AppendEntries and replied (the acknowledgements).
  void ObserveAppendEntriesReply(int i, const AppendEntriesArgs& args,
                                 const AppendEntriesReply& reply);
  // Peer i received an InstallSnapshot.
  std::string ObserveInstallSnapshot(int i, const InstallSnapshotArgs& args);
  // Peer i handled that InstallSnapshot and replied.
  void ObserveInstallSnapshotReply(int i, const InstallSnapshotArgs& args,
                                   const InstallSnapshotReply& reply);
  // Some peer applied `command` at `index` (Lab 2's appliers; they check
  // that the peers agree).
  void ObserveApplied(int64_t index, const std::string& command);

  // A probe of one vote per term across restarts, for a restarted peer i
  // before it talks to anyone: a RequestVote in the last term i was seen
  // voting in (for another peer, or for itself as a candidate), from a
  // candidate it did not vote for, with a log as up to date as can be. A
  // peer that persisted its vote refuses it, and nothing changes for it
  // (the term is not newer than its own). Nullopt if i was never seen
  // voting.
  std::optional<RequestVoteArgs> VoteProbe(int i) const;
  // Peer i answered the probe: granting it is a second vote in that term.
  // (The probe is not a candidacy: unlike ObserveRequestVote, this records
  // no vote for its candidate.)
  std::string ObserveVoteProbe(int i, const RequestVoteArgs& probe, const RequestVoteReply& reply);

  // "peers as last seen: 0 term 3 leader; 1 term 3 candidate; 2 term 2"
  std::string DescribePeers() const;

 private:
  struct LastSeen {
    int64_t term = 0;
    const char* role = "";  // "", " leader", " candidate"
  };
  std::string LeaderLocked(int i, int64_t term, const char* how) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string VoteLocked(int voter, int64_t term, int candidate, const char* how)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SeenLocked(int i, int64_t term, const char* role) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The highest leader_commit seen in a term below `term` (0 if none).
  int64_t CommittedBeforeLocked(int64_t term) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Peer i acknowledged, in `term`, that its log matches the leader's up
  // to `index`.
  void AcknowledgedLocked(int i, int64_t term, int64_t index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // "" or the Commitment violation of `args` (see above).
  std::string CommitmentLocked(const AppendEntriesArgs& args) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int n_;
  const std::string peer_;

  mutable TesterMutex mu_;
  std::map<int64_t, int> leader_of_term_ ABSL_GUARDED_BY(mu_);
  // (voter, term) -> the candidate it voted for.
  std::map<std::pair<int, int64_t>, int> vote_ ABSL_GUARDED_BY(mu_);
  // (index, term) -> a hash of the command an AppendEntries carried there.
  std::map<std::pair<int64_t, int64_t>, size_t> entry_ ABSL_GUARDED_BY(mu_);
  // term -> the highest leader_commit its AppendEntries carried.
  std::map<int64_t, int64_t> commit_in_term_ ABSL_GUARDED_BY(mu_);
  // index -> the command applied there (hash).
  std::map<int64_t, size_t> applied_ ABSL_GUARDED_BY(mu_);
  std::vector<LastSeen> last_seen_ ABSL_GUARDED_BY(mu_);
  // For Commitment. Peer -> the highest leader_commit or snapshot index
  // delivered to it (an upper bound on what it can know was committed).
  std::vector<int64_t> received_commit_ ABSL_GUARDED_BY(mu_);
  // (term, peer) -> the highest index the peer acknowledged in that term.
  std::map<std::pair<int64_t, int>, int64_t> ack_ ABSL_GUARDED_BY(mu_);
  // (leader, term) -> the highest index that the leader and enough others
  // for a majority acknowledged in that term.
  std::map<std::pair<int, int64_t>, int64_t> backed_ ABSL_GUARDED_BY(mu_);
  // Per server: Crashed() calls so far.
  std::vector<int64_t> crashes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace raft

#endif  // RAFT_SAFETY_MONITOR_H_
