// raft/raft.h
//
// A Raft peer (Lab 2): the API the tester and (in Lab 3) your KV service
// use, and the RPC messages peers exchange. You implement it in raft.cc,
// and add your fields and private helpers to the class below, where it says
// "Your code here". Keep the public API and the RPC messages' Figure 2
// fields as they are: the tester calls the one and reads the other. The
// lab write-ups: labs/2A/README.md to labs/2D/README.md.
//
//   auto apply_ch = std::make_shared<lab::Chan<raft::ApplyMsg>>();
//   raft::Raft rf(peers, me, persister, apply_ch);   // starts its tasks
//   raft::StartResult r = rf.Start("command bytes"); // returns at once
//   ...  // r.index is committed when an ApplyMsg with it arrives on apply_ch
//   rf.Kill();
//
// peers[i] is this peer's labrpc end to peer i (peers[me] is its own). The
// tester registers the three RPC handlers below on a labrpc::Service named
// "Raft", so peers call e.g. peers[i]->Call("Raft.RequestVote", args, &reply).
//
// Everything must go through the lab runtime (lab::Go, lab::SleepFor,
// lab::Mutex, ...): no std::thread, no sleep, no system clock.

#ifndef RAFT_RAFT_H_
#define RAFT_RAFT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "labrpc/network.h"
#include "labrpc/persister.h"
#include "labrpc/runtime/lab.h"

namespace raft {

// What a peer delivers on its apply channel (2B). Each time it learns that
// the next entry of its log is committed, it sends one ApplyMsg with
// command_valid = true and the entry's command, index and term: indices go
// up by one, and each is delivered once. In 2D, a peer that installs a
// leader's snapshot sends instead an ApplyMsg with snapshot_valid = true,
// the snapshot, and the index and term of the last entry it covers; the
// next command it delivers is the one at snapshot_index + 1. Send from one
// task only, so the order holds, and never while holding a lock: the
// service may call Start() or Snapshot() while it handles a message.
struct ApplyMsg {
  bool command_valid = false;
  std::string command;
  int64_t command_index = 0;
  int64_t command_term = 0;

  bool snapshot_valid = false;
  std::string snapshot;
  int64_t snapshot_term = 0;
  int64_t snapshot_index = 0;
};

struct StartResult {
  int64_t index = -1;  // where the command will appear if it is committed
  int64_t term = -1;   // the current term
  bool is_leader = false;
};

// One log entry.
struct LogEntry {
  int64_t term = 0;
  std::string command;
  template <class A>
  void serialize(A& a) {
    a(term, command);
  }
};

// RequestVote RPC (Figure 2).
struct RequestVoteArgs {
  int64_t term = 0;
  int candidate_id = 0;
  int64_t last_log_index = 0;
  int64_t last_log_term = 0;
  template <class A>
  void serialize(A& a) {
    a(term, candidate_id, last_log_index, last_log_term);
  }
};

struct RequestVoteReply {
  int64_t term = 0;
  bool vote_granted = false;
  template <class A>
  void serialize(A& a) {
    a(term, vote_granted);
  }
};

// AppendEntries RPC (Figure 2).
struct AppendEntriesArgs {
  int64_t term = 0;
  int leader_id = 0;
  int64_t prev_log_index = 0;
  int64_t prev_log_term = 0;
  std::vector<LogEntry> entries;
  int64_t leader_commit = 0;
  template <class A>
  void serialize(A& a) {
    a(term, leader_id, prev_log_index, prev_log_term, entries, leader_commit);
  }
};

struct AppendEntriesReply {
  int64_t term = 0;
  bool success = false;
  // BEGIN SOLUTION 2B
  // The conflict hints of §5.3's "optimization": a follower that rejects
  // says where the leader should retry.
  int64_t conflict_term = -1;   // term of the follower's entry at prev_log_index, or -1
  int64_t conflict_index = 0;   // first index of conflict_term, or the follower's log length
  int64_t match_index = 0;      // on success: the follower's log matches the leader's up to here
  // END SOLUTION
  // HANDOUT: // Your code here (2B): what a follower that rejects tells the leader,
  // HANDOUT: // so that it backs up faster (labs/2B/README.md, "Hints").
  template <class A>
  void serialize(A& a) {
    // BEGIN SOLUTION 2B
    a(term, success, conflict_term, conflict_index, match_index);
    // END SOLUTION
    // HANDOUT: a(term, success);  // and every field you add
  }
};

// InstallSnapshot RPC (Figure 13), sent whole (no chunks).
struct InstallSnapshotArgs {
  int64_t term = 0;
  int leader_id = 0;
  int64_t last_included_index = 0;
  int64_t last_included_term = 0;
  std::string data;
  template <class A>
  void serialize(A& a) {
    a(term, leader_id, last_included_index, last_included_term, data);
  }
};

struct InstallSnapshotReply {
  int64_t term = 0;
  template <class A>
  void serialize(A& a) {
    a(term);
  }
};

class Raft {
 public:
  // Starts the peer: reads its persisted state (after a restart), and
  // starts its background tasks. Must return quickly.
  Raft(std::vector<std::shared_ptr<labrpc::ClientEnd>> peers, int me,
       std::shared_ptr<labrpc::Persister> persister,
       std::shared_ptr<lab::Chan<ApplyMsg>> apply_ch);
  ~Raft();
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // Proposes `command` if this peer is the leader; returns at once, with no
  // guarantee that the command will ever be committed.
  StartResult Start(std::string command);

  // {current term, whether this peer believes it is the leader}.
  std::pair<int64_t, bool> GetState();

  // The service has a snapshot of everything up to and including `index`:
  // Raft may discard its log through that index (2D).
  void Snapshot(int64_t index, std::string snapshot);

  // Stops the peer: its tasks end soon, and it sends and applies nothing
  // more. The tester also kills the peer's task group, but a peer should not
  // rely on that.
  void Kill();
  bool Killed() const;

  // RPC handlers, registered by the tester on the "Raft" service.
  void RequestVote(const RequestVoteArgs& args, RequestVoteReply* reply);
  void AppendEntries(const AppendEntriesArgs& args, AppendEntriesReply* reply);
  void InstallSnapshot(const InstallSnapshotArgs& args, InstallSnapshotReply* reply);

 private:
  // BEGIN SOLUTION 2A
  enum class Role { kFollower, kCandidate, kLeader };

  // The log, with the entries up to snapshot_index_ discarded (§7).
  // log_[0] is a sentinel holding snapshot_index_'s term.
  int64_t LastIndexLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t LastTermLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t TermAtLocked(int64_t index) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const LogEntry& EntryLocked(int64_t index) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void BecomeFollowerLocked(int64_t term) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool StepDownIfNewerTermLocked(int64_t term) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ResetElectionTimerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartElectionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void BecomeLeaderLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Ticker();
  // END SOLUTION
  // HANDOUT: // Your code here (2A-2D): private helpers. Two to start from (raft.cc):
  // HANDOUT: void Ticker();
  // HANDOUT: void SendRequestVote(int peer, RequestVoteArgs args);

  // BEGIN SOLUTION 2B
  void ReplicateToLocked(int peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void BroadcastLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AdvanceCommitLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleAppendReplyLocked(int peer, const AppendEntriesArgs& args,
                               const AppendEntriesReply& reply) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts a task that sends one RPC to `peer` (at most kMaxInFlight at once).
  bool TrySendLocked(int peer, std::function<void()> send) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Applier();
  // Bytes of the committed entries the service has not been handed yet.
  int64_t UnappliedBytesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // END SOLUTION

  // BEGIN SOLUTION 2C
  std::string EncodeStateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PersistLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadPersistLocked(const std::string& data) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // END SOLUTION
  // HANDOUT: // Save and restore the persistent state (2C); the caller holds mu_.
  // HANDOUT: void PersistLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // HANDOUT: void ReadPersistLocked(const std::string& data) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // BEGIN SOLUTION 2D
  void SendSnapshotLocked(int peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // END SOLUTION

  // Constant after construction.
  const std::vector<std::shared_ptr<labrpc::ClientEnd>> peers_;
  const int me_;
  const std::shared_ptr<labrpc::Persister> persister_;
  const std::shared_ptr<lab::Chan<ApplyMsg>> apply_ch_;

  // mu_ guards what follows; dead_ is set by Kill().
  mutable lab::Mutex mu_;
  bool dead_ ABSL_GUARDED_BY(mu_) = false;

  // BEGIN SOLUTION 2A
  // Figure 2, persistent (2C).
  int64_t current_term_ ABSL_GUARDED_BY(mu_) = 0;
  int voted_for_ ABSL_GUARDED_BY(mu_) = -1;
  std::vector<LogEntry> log_ ABSL_GUARDED_BY(mu_);
  int64_t snapshot_index_ ABSL_GUARDED_BY(mu_) = 0;  // 2D: last index in the snapshot
  std::string snapshot_ ABSL_GUARDED_BY(mu_);         // 2D

  // Figure 2, volatile.
  int64_t commit_index_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t last_applied_ ABSL_GUARDED_BY(mu_) = 0;
  Role role_ ABSL_GUARDED_BY(mu_) = Role::kFollower;
  absl::Duration election_timeout_left_ ABSL_GUARDED_BY(mu_);  // counted by Ticker
  int votes_ ABSL_GUARDED_BY(mu_) = 0;

  // Figure 2, volatile on leaders.
  std::vector<int64_t> next_index_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> match_index_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> since_ack_ ABSL_GUARDED_BY(mu_);  // since each one's last reply
  std::vector<int> in_flight_ ABSL_GUARDED_BY(mu_);        // RPCs outstanding per peer
  absl::Time next_heartbeat_ ABSL_GUARDED_BY(mu_);

  // Notified when commit_index_ or the snapshot to deliver changes, and on
  // Kill: waited on by Applier.
  lab::CondVar apply_cv_;
  bool snapshot_pending_ ABSL_GUARDED_BY(mu_) = false;  // 2D: deliver snapshot_ first
  // END SOLUTION
  // HANDOUT: // Your code here (2A-2D): the state of Figure 2 (currentTerm, votedFor,
  // HANDOUT: // log[], commitIndex, ...) and whatever else a peer needs, each field
  // HANDOUT: // ABSL_GUARDED_BY(mu_).
};

}  // namespace raft

#endif  // RAFT_RAFT_H_
