// raft/raft.cc
//
// Your Raft (Lab 2): one peer of a replicated log, built in four parts:
// leader election (2A), log replication (2B), persistence (2C) and log
// compaction with snapshots (2D). What each part asks, its rules and how it
// is graded: labs/2A/README.md to labs/2D/README.md. The specification is
// Figure 2 of the extended Raft paper ("In Search of an Understandable
// Consensus Algorithm", Ongaro & Ousterhout), and Figure 13 for
// InstallSnapshot; the section numbers in these comments are the paper's.
//
// The tester uses the API in raft.h: the constructor, Start, GetState,
// Snapshot and Kill, and, through the network, the RPC handlers
// RequestVote, AppendEntries and InstallSnapshot. Keep those signatures;
// add fields and helpers to raft.h as you need them.
//
// The rules, in short:
// - Tasks, time, randomness and locks come from the lab runtime
//   (labrpc/runtime/lab.h): lab::Go, lab::SleepFor, lab::Now, lab::RandInt,
//   lab::Mutex, lab::CondVar, lab::Chan. No std::thread, sleep, clocks or
//   rand(): under the sim runtime they break replay or stop the world.
// - Peers talk only by RPC through peers_, and a call can block for
//   seconds: make each call in a task of its own, and never hold mu_ while
//   calling or while sending on apply_ch_.
// - Only what you save with persister_ survives a crash (2C).
// - After Kill(), send no RPC and deliver no ApplyMsg: the tester watches.
//
// Below, every function the tester needs exists as a stub that says where
// your code goes. The constructor starts an election ticker for you to
// fill in, and SendRequestVote shows how to send an RPC from its own task.
// BEGIN SOLUTION 2A
//
// The reference solution follows those Figures. Shape: one mutex guards all
// state. A ticker task starts elections and sends heartbeats; every RPC goes
// out in a task of its own (a call can block for seconds on a partitioned
// peer); one applier task delivers committed entries, in order, on the apply
// channel.
// END SOLUTION
// HANDOUT:
#include "raft/raft.h"

#include <algorithm>

#include "labrpc/codec.h"

namespace raft {
namespace {

// BEGIN SOLUTION 2A
// Election timeouts are drawn anew at every reset (§5.2), well above the
// heartbeat interval; the tester allows 10 heartbeats a second and expects
// a new leader within 5 s.
constexpr int kElectionTimeoutMinMs = 300;
constexpr int kElectionTimeoutMaxMs = 600;
constexpr absl::Duration kHeartbeatInterval = absl::Milliseconds(100);
// A leader that has not heard from a majority for this long steps down, so
// a leader cut off from its followers (even one way) stops claiming to lead.
constexpr absl::Duration kLeaderLease = absl::Milliseconds(1200);
// The ticker wakes every kTick. The two timeouts that conclude something
// from the others' silence (the election timeout and the leader's lease)
// count the time between ticks, but at most kMaxTickCredit per tick: when
// this process is starved or paused, the others' messages to it are held up
// too, so its own long gap between ticks must not look like their silence.
// Heartbeats, which the others rely on, go by the clock.
constexpr absl::Duration kTick = absl::Milliseconds(10);
constexpr absl::Duration kMaxTickCredit = absl::Milliseconds(20);
// At most this many RPCs in flight to one peer: a call to a partitioned
// peer can take seconds to fail, and heartbeats would pile up.
constexpr int kMaxInFlight = 8;
// Flow control (not in the paper): a follower whose service has fallen this
// far behind (committed entries it has not been handed yet) takes no new
// entries, so a slow service cannot make its log grow without bound. The
// leader keeps committing with the others and does not hold back its own
// log compaction for the slow follower: once its snapshot passes what the
// follower has, it sends InstallSnapshot, and the follower jumps ahead.
constexpr int64_t kMaxUnappliedBytes = 16 * 1024;
// END SOLUTION
// HANDOUT: // Your code here (2A): constants such as the range of election timeouts
// HANDOUT: // and the heartbeat interval (labs/2A/README.md, "Hints").

// BEGIN SOLUTION 2C
// What is persisted (Figure 2's persistent state, plus where the log starts).
struct PersistentState {
  int64_t current_term = 0;
  int voted_for = -1;
  int64_t snapshot_index = 0;
  std::vector<LogEntry> log;
  template <class A>
  void serialize(A& a) {
    a(current_term, voted_for, snapshot_index, log);
  }
};
// END SOLUTION
// HANDOUT: // Your code here (2C): the struct you persist, with a serialize method
// HANDOUT: // listing its fields for the codec, as the RPC messages in raft.h do.

}  // namespace

Raft::Raft(std::vector<std::shared_ptr<labrpc::ClientEnd>> peers, int me,
           std::shared_ptr<labrpc::Persister> persister,
           std::shared_ptr<lab::Chan<ApplyMsg>> apply_ch)
    : peers_(std::move(peers)),
      me_(me),
      persister_(std::move(persister)),
      apply_ch_(std::move(apply_ch)) {
  // BEGIN SOLUTION 2A
  lab::MutexLock l(&mu_);
  log_.push_back(LogEntry{});  // the sentinel at index 0
  const size_t n = peers_.size();
  next_index_.assign(n, 1);
  match_index_.assign(n, 0);
  since_ack_.assign(n, absl::ZeroDuration());
  in_flight_.assign(n, 0);
  ReadPersistLocked(persister_->ReadRaftState());
  snapshot_ = persister_->ReadSnapshot();
  commit_index_ = last_applied_ = snapshot_index_;  // the service restores the snapshot itself
  ResetElectionTimerLocked();
  lab::Go("raft ticker", [this] { Ticker(); });
  lab::Go("raft applier", [this] { Applier(); });
  // END SOLUTION
  // HANDOUT: // Your code here (2A, 2B, 2C): initialize the state of Figure 2.
  // HANDOUT: lab::MutexLock l(&mu_);
  // HANDOUT: // After a crash: the state saved before it (nothing for a new peer).
  // HANDOUT: ReadPersistLocked(persister_->ReadRaftState());
  // HANDOUT: // The constructor must return at once: long-running work goes in
  // HANDOUT: // tasks. In 2B, also start the task that delivers committed entries
  // HANDOUT: // on apply_ch_ (see ApplyMsg in raft.h).
  // HANDOUT: lab::Go("raft ticker", [this] { Ticker(); });
}

Raft::~Raft() = default;

// The tester calls Kill() when it crashes this peer, then watches the old
// instance for a second before it stops its tasks: from then on it must
// start no RPC and deliver no ApplyMsg (labs/2A/README.md, "Rules"). So
// every long-running task checks Killed() (or dead_, holding mu_) in its
// loop and returns, and a task waiting on a condition variable is woken to
// see it.
void Raft::Kill() {
  lab::MutexLock l(&mu_);
  dead_ = true;
  // BEGIN SOLUTION 2B
  apply_cv_.NotifyAll();
  // END SOLUTION
  // HANDOUT: // Your code here (2B): wake the tasks that wait on a lab::CondVar
  // HANDOUT: // (your applier), so that they see dead_ and return.
}

bool Raft::Killed() const {
  lab::MutexLock l(&mu_);
  return dead_;
}

std::pair<int64_t, bool> Raft::GetState() {
  // BEGIN SOLUTION 2A
  lab::MutexLock l(&mu_);
  return {current_term_, role_ == Role::kLeader};
  // END SOLUTION
  // HANDOUT: // Your code here (2A): the current term, and whether this peer
  // HANDOUT: // believes it is the leader. (Lock mu_: RPC handlers change them.)
  // HANDOUT: return {0, false};
}

StartResult Raft::Start(std::string command) {
  // BEGIN SOLUTION 2B
  lab::MutexLock l(&mu_);
  if (dead_ || role_ != Role::kLeader) return {-1, current_term_, false};
  log_.push_back(LogEntry{current_term_, std::move(command)});
  match_index_[me_] = LastIndexLocked();
  PersistLocked();
  BroadcastLocked();  // don't wait for the next heartbeat
  return {LastIndexLocked(), current_term_, true};
  // END SOLUTION
  // HANDOUT: // Your code here (2B): a peer that is not the leader returns
  // HANDOUT: // is_leader = false. The leader appends the command to its log and
  // HANDOUT: // returns at once {the index it will have if it is ever committed,
  // HANDOUT: // the current term, true}: replication happens in the background,
  // HANDOUT: // and the command is committed when an ApplyMsg carries it.
  // HANDOUT: (void)command;  // unused until then
  // HANDOUT: return {-1, -1, false};
}

// BEGIN SOLUTION 2A

// --- The log, indexed across the snapshot boundary (§7) ----------------------

int64_t Raft::LastIndexLocked() const {
  return snapshot_index_ + static_cast<int64_t>(log_.size()) - 1;
}

int64_t Raft::LastTermLocked() const { return log_.back().term; }

int64_t Raft::TermAtLocked(int64_t index) const { return EntryLocked(index).term; }

const LogEntry& Raft::EntryLocked(int64_t index) const {
  if (index < snapshot_index_ || index > LastIndexLocked()) {
    lab::internal::Fatal("raft: log index " + std::to_string(index) + " outside [" +
                         std::to_string(snapshot_index_) + ", " +
                         std::to_string(LastIndexLocked()) + "]");
  }
  return log_[static_cast<size_t>(index - snapshot_index_)];
}

// --- Elections (§5.2) --------------------------------------------------------

void Raft::ResetElectionTimerLocked() {
  election_timeout_left_ =
      absl::Milliseconds(lab::RandInt(kElectionTimeoutMinMs, kElectionTimeoutMaxMs));
}

// If RPC request or response contains term T > currentTerm: set currentTerm
// = T, convert to follower (§5.1). Callers persist.
void Raft::BecomeFollowerLocked(int64_t term) {
  if (term > current_term_) {
    LAB_LOG(TERM, "term %d -> %d (saw a newer term): follower", current_term_, term);
    current_term_ = term;
    voted_for_ = -1;
  }
  role_ = Role::kFollower;
}

// A reply from a newer term: this peer's leadership or candidacy is over.
bool Raft::StepDownIfNewerTermLocked(int64_t term) {
  if (term <= current_term_) return false;
  BecomeFollowerLocked(term);
  PersistLocked();
  return true;
}

void Raft::Ticker() {
  absl::Time last_tick = lab::Now();
  while (true) {
    lab::SleepFor(kTick);
    lab::MutexLock l(&mu_);
    if (dead_) return;
    const absl::Time now = lab::Now();
    const absl::Duration credit = std::min(now - last_tick, kMaxTickCredit);
    last_tick = now;
    if (role_ == Role::kLeader) {
      // Count who answered lately; step down without a majority.
      int recent = 1;
      for (int i = 0; i < static_cast<int>(peers_.size()); ++i) {
        if (i == me_) continue;
        since_ack_[i] += credit;
        if (since_ack_[i] < kLeaderLease) ++recent;
      }
      if (2 * recent <= static_cast<int>(peers_.size())) {
        LAB_LOG(LEAD, "heard from %d of %d peers within %s: stepping down in term %d", recent,
                peers_.size(), absl::FormatDuration(kLeaderLease), current_term_);
        role_ = Role::kFollower;
        ResetElectionTimerLocked();
        continue;
      }
      if (now >= next_heartbeat_) BroadcastLocked();
    } else {
      election_timeout_left_ -= credit;
      if (election_timeout_left_ <= absl::ZeroDuration()) StartElectionLocked();
    }
  }
}

// On conversion to candidate: increment currentTerm, vote for self, reset
// the election timer, send RequestVote RPCs to all other servers (§5.2).
void Raft::StartElectionLocked() {
  LAB_LOG(TIMER, "election timeout in term %d (%s)", current_term_,
          role_ == Role::kCandidate ? "split vote?" : "no leader heard from");
  ++current_term_;
  role_ = Role::kCandidate;
  voted_for_ = me_;
  votes_ = 1;
  PersistLocked();
  ResetElectionTimerLocked();
  if (peers_.size() == 1) {
    BecomeLeaderLocked();
    return;
  }
  RequestVoteArgs args{current_term_, me_, LastIndexLocked(), LastTermLocked()};
  LAB_LOG(VOTE, "candidate in term %d, asking for votes (my log ends at %d, term %d)",
          current_term_, args.last_log_index, args.last_log_term);
  for (int i = 0; i < static_cast<int>(peers_.size()); ++i) {
    if (i == me_) continue;
    TrySendLocked(i, [this, i, args] {
      RequestVoteReply reply;
      if (!peers_[i]->Call("Raft.RequestVote", args, &reply)) return;
      lab::MutexLock l(&mu_);
      if (dead_) return;
      if (StepDownIfNewerTermLocked(reply.term)) return;
      if (role_ != Role::kCandidate || current_term_ != args.term || !reply.vote_granted) return;
      // If votes received from majority of servers: become leader (§5.2).
      if (2 * ++votes_ > static_cast<int>(peers_.size())) BecomeLeaderLocked();
    });
  }
}

void Raft::BecomeLeaderLocked() {
  LAB_LOG(LEAD, "leader of term %d with %d votes; my log ends at %d", current_term_, votes_,
          LastIndexLocked());
  role_ = Role::kLeader;
  for (size_t i = 0; i < peers_.size(); ++i) {
    // Reinitialized after election (Figure 2).
    next_index_[i] = LastIndexLocked() + 1;
    match_index_[i] = 0;
    since_ack_[i] = absl::ZeroDuration();  // a fresh lease
  }
  match_index_[me_] = LastIndexLocked();
  // Upon election: send initial empty AppendEntries RPCs (heartbeat) to each
  // server (§5.2).
  BroadcastLocked();
}

void Raft::RequestVote(const RequestVoteArgs& args, RequestVoteReply* reply) {
  lab::MutexLock l(&mu_);
  const int64_t term_before = current_term_;
  // Reply false if term < currentTerm (§5.1).
  if (args.term < current_term_) {
    LAB_LOG(VOTE, "refused %d: its term %d < mine %d", args.candidate_id, args.term,
            current_term_);
    reply->term = current_term_;
    reply->vote_granted = false;
    return;
  }
  if (args.term > current_term_) BecomeFollowerLocked(args.term);
  // If votedFor is null or candidateId, and candidate's log is at least as
  // up-to-date as receiver's log, grant vote (§5.2, §5.4.1).
  const bool up_to_date =
      args.last_log_term > LastTermLocked() ||
      (args.last_log_term == LastTermLocked() && args.last_log_index >= LastIndexLocked());
  reply->vote_granted = (voted_for_ == -1 || voted_for_ == args.candidate_id) && up_to_date;
  LAB_LOG(VOTE, "%s %d in term %d (%s)", reply->vote_granted ? "voted for" : "refused",
          args.candidate_id, args.term,
          reply->vote_granted ? "first to ask"
          : !up_to_date       ? "its log is behind mine"
                              : absl::StrCat("already voted for ", voted_for_));
  if (reply->vote_granted) {
    voted_for_ = args.candidate_id;
    ResetElectionTimerLocked();  // only when granting, so a stale candidate can't stall us
  }
  // Before the reply: the vote and the term must survive a crash.
  if (current_term_ != term_before || reply->vote_granted) PersistLocked();
  reply->term = current_term_;
}

bool Raft::TrySendLocked(int peer, std::function<void()> send) {
  if (in_flight_[peer] >= kMaxInFlight) return false;
  ++in_flight_[peer];
  lab::Go("raft rpc", [this, peer, send = std::move(send)] {
    struct Done {
      Raft* rf;
      int peer;
      ~Done() {
        try {
          lab::MutexLock l(&rf->mu_);
          --rf->in_flight_[peer];
        } catch (const lab::TaskKilled&) {
          // The peer is being crashed; nobody counts any more.
        }
      }
    } done{this, peer};
    send();
  });
  return true;
}

// END SOLUTION
// HANDOUT: // The election ticker (2A), started by the constructor; it runs until
// HANDOUT: // Kill(). Each round sleeps for a random election timeout, so that
// HANDOUT: // peers seldom time out together, then decides what to do.
// HANDOUT: void Raft::Ticker() {
// HANDOUT:   while (!Killed()) {
// HANDOUT:     lab::SleepFor(absl::Milliseconds(lab::RandInt(300, 600)));  // [300, 600) ms
// HANDOUT:     // Your code here (2A): a peer that is not the leader, and that in
// HANDOUT:     // that time neither heard from a current leader nor granted a
// HANDOUT:     // vote, starts an election (§5.2): a new term, a vote for itself,
// HANDOUT:     // and RequestVote to every other peer, each in its own task (see
// HANDOUT:     // SendRequestVote). A leader sends heartbeats (AppendEntries)
// HANDOUT:     // instead, about ten a second: from here, or from a task of its own.
// HANDOUT:   }
// HANDOUT: }
// HANDOUT:
// HANDOUT: // An example of an RPC sent from its own task. Call() returns once the
// HANDOUT: // reply is back or the network gives up, which can take seconds on a
// HANDOUT: // cut link, so the caller must not wait for it. It returns false if
// HANDOUT: // no reply came (the request or the reply was lost, or the peer is
// HANDOUT: // down: its handler may have run). A reply can arrive long after the
// HANDOUT: // call: before acting on one, check that this peer is still in the
// HANDOUT: // term and role it sent the request in. AppendEntries and
// HANDOUT: // InstallSnapshot go out the same way.
// HANDOUT: void Raft::SendRequestVote(int peer, RequestVoteArgs args) {
// HANDOUT:   lab::Go("raft RequestVote", [this, peer, args = std::move(args)] {
// HANDOUT:     RequestVoteReply reply;
// HANDOUT:     if (!peers_[peer]->Call("Raft.RequestVote", args, &reply)) return;
// HANDOUT:     lab::MutexLock l(&mu_);
// HANDOUT:     if (dead_) return;
// HANDOUT:     // Your code here (2A): a newer term in the reply turns this peer
// HANDOUT:     // into a follower (§5.1); a vote granted in args.term counts only
// HANDOUT:     // while this peer is still a candidate in that term.
// HANDOUT:   });
// HANDOUT: }
// HANDOUT:
// HANDOUT: // The RequestVote handler: the network runs it in a task of its own,
// HANDOUT: // concurrently with everything else, whenever a candidate asks.
// HANDOUT: void Raft::RequestVote(const RequestVoteArgs& /*args*/,
// HANDOUT:                        RequestVoteReply* /*reply*/) {
// HANDOUT:   // Your code here (2A, 2B): Figure 2's RequestVote rules. In 2C, persist
// HANDOUT:   // a vote or a new term before you reply.
// HANDOUT: }

// BEGIN SOLUTION 2B

// --- Replication (§5.3) ------------------------------------------------------

void Raft::BroadcastLocked() {
  next_heartbeat_ = lab::Now() + kHeartbeatInterval;
  for (int i = 0; i < static_cast<int>(peers_.size()); ++i) {
    if (i != me_) ReplicateToLocked(i);
  }
}

void Raft::ReplicateToLocked(int peer) {
  // BEGIN SOLUTION 2D
  if (next_index_[peer] <= snapshot_index_) {
    SendSnapshotLocked(peer);  // the entries it needs are gone (§7)
    return;
  }
  // END SOLUTION
  AppendEntriesArgs args;
  args.term = current_term_;
  args.leader_id = me_;
  args.prev_log_index = next_index_[peer] - 1;
  args.prev_log_term = TermAtLocked(args.prev_log_index);
  for (int64_t i = next_index_[peer]; i <= LastIndexLocked(); ++i) {
    args.entries.push_back(EntryLocked(i));
  }
  args.leader_commit = commit_index_;
  TrySendLocked(peer, [this, peer, args = std::move(args)] {
    AppendEntriesReply reply;
    if (!peers_[peer]->Call("Raft.AppendEntries", args, &reply)) return;
    lab::MutexLock l(&mu_);
    if (!dead_) HandleAppendReplyLocked(peer, args, reply);
  });
}

void Raft::HandleAppendReplyLocked(int peer, const AppendEntriesArgs& args,
                                   const AppendEntriesReply& reply) {
  if (StepDownIfNewerTermLocked(reply.term)) return;
  if (role_ != Role::kLeader || current_term_ != args.term) return;  // a stale reply
  since_ack_[peer] = absl::ZeroDuration();
  if (reply.success) {
    // If successful: update nextIndex and matchIndex for follower (§5.3).
    // (A follower short of room takes only some of the entries; it says
    // how far its log now matches ours.)
    match_index_[peer] = std::max(match_index_[peer], reply.match_index);
    next_index_[peer] = std::max(next_index_[peer], match_index_[peer] + 1);
    AdvanceCommitLocked();
    return;
  }
  // If AppendEntries fails because of log inconsistency: decrement
  // nextIndex and retry (§5.3) -- by a whole term at a time, using the
  // follower's hint, so a far-behind follower needs one round trip per
  // conflicting term rather than per entry.
  int64_t next = reply.conflict_index;
  LAB_LOG(LOG, "%d rejected entries after %d (conflict: term %d from index %d)", peer,
          args.prev_log_index, reply.conflict_term, reply.conflict_index);
  if (reply.conflict_term != -1) {
    for (int64_t i = LastIndexLocked(); i > snapshot_index_; --i) {
      const int64_t term = TermAtLocked(i);
      if (term == reply.conflict_term) {
        next = i + 1;  // just past our last entry of that term
        break;
      }
      if (term < reply.conflict_term) break;
    }
  }
  next_index_[peer] = std::clamp<int64_t>(next, match_index_[peer] + 1, LastIndexLocked() + 1);
  ReplicateToLocked(peer);
}

// If there exists an N such that N > commitIndex, a majority of
// matchIndex[i] >= N, and log[N].term == currentTerm: set commitIndex = N
// (§5.3, §5.4). Only entries of the current term are committed by counting
// replicas (Figure 8); earlier ones are committed with them.
void Raft::AdvanceCommitLocked() {
  for (int64_t n = LastIndexLocked(); n > commit_index_; --n) {
    if (TermAtLocked(n) != current_term_) break;
    int replicas = 0;
    for (int64_t m : match_index_) replicas += m >= n ? 1 : 0;
    if (2 * replicas > static_cast<int>(peers_.size())) {
      LAB_LOG(COMMIT, "commit index %d -> %d (on %d of %d peers)", commit_index_, n, replicas,
              peers_.size());
      commit_index_ = n;
      apply_cv_.NotifyAll();
      return;
    }
  }
}

void Raft::AppendEntries(const AppendEntriesArgs& args, AppendEntriesReply* reply) {
  lab::MutexLock l(&mu_);
  reply->success = false;
  // Reply false if term < currentTerm (§5.1).
  if (args.term < current_term_) {
    reply->term = current_term_;
    return;
  }
  // A current leader exists: follow it (§5.2).
  const int64_t term_before = current_term_;
  BecomeFollowerLocked(args.term);
  ResetElectionTimerLocked();
  reply->term = current_term_;
  if (current_term_ != term_before) PersistLocked();  // before any reply

  int64_t prev = args.prev_log_index;
  int64_t prev_term = args.prev_log_term;
  size_t first = 0;  // first of args.entries still to consider
  if (prev < snapshot_index_) {
    // The entries up to our snapshot are committed, so they match: skip them.
    const int64_t skip = snapshot_index_ - prev;
    if (skip >= static_cast<int64_t>(args.entries.size())) {
      reply->success = true;
      reply->match_index = prev + static_cast<int64_t>(args.entries.size());
      return;
    }
    first = static_cast<size_t>(skip);
    prev = snapshot_index_;
    prev_term = log_[0].term;
  }
  // Reply false if log doesn't contain an entry at prevLogIndex whose term
  // matches prevLogTerm (§5.3), saying where the leader should retry.
  if (prev > LastIndexLocked()) {
    reply->conflict_term = -1;
    reply->conflict_index = LastIndexLocked() + 1;
    LAB_LOG(LOG, "no entry %d from leader %d (my log ends at %d)", prev, args.leader_id,
            LastIndexLocked());
    return;
  }
  if (TermAtLocked(prev) != prev_term) {
    reply->conflict_term = TermAtLocked(prev);
    int64_t i = prev;
    while (i - 1 > snapshot_index_ && TermAtLocked(i - 1) == reply->conflict_term) --i;
    reply->conflict_index = i;
    LAB_LOG(LOG, "entry %d has term %d, leader %d says %d: conflict from index %d", prev,
            reply->conflict_term, args.leader_id, prev_term, i);
    return;
  }
  // If an existing entry conflicts with a new one (same index but different
  // terms), delete the existing entry and all that follow it; append any new
  // entries not already in the log (§5.3). Entries that match stay: a
  // delayed, shorter AppendEntries must not truncate a longer log. A
  // follower whose service lags too far takes nothing new (kMaxUnappliedBytes).
  size_t end = args.entries.size();  // args.entries[first, end) now match our log
  for (size_t k = first; k < args.entries.size(); ++k) {
    const int64_t index = prev + 1 + static_cast<int64_t>(k - first);
    if (index <= LastIndexLocked() && TermAtLocked(index) == args.entries[k].term) continue;
    if (UnappliedBytesLocked() > kMaxUnappliedBytes) {
      end = k;
      break;
    }
    if (index <= LastIndexLocked()) {
      LAB_LOG(LOG, "dropping entries %d..%d (they conflict with leader %d's)", index,
              LastIndexLocked(), args.leader_id);
      log_.resize(static_cast<size_t>(index - snapshot_index_));
    }
    LAB_LOG(LOG, "appending %d entries from leader %d at %d", args.entries.size() - k,
            args.leader_id, index);
    log_.insert(log_.end(), args.entries.begin() + static_cast<std::ptrdiff_t>(k),
                args.entries.end());
    PersistLocked();  // before the reply
    break;
  }
  // If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index
  // of last new entry) (§5.3).
  const int64_t last_new = prev + static_cast<int64_t>(end - first);
  if (args.leader_commit > commit_index_) {
    const int64_t commit = std::min(args.leader_commit, last_new);
    if (commit > commit_index_) {
      LAB_LOG(COMMIT, "commit index %d -> %d (leader %d)", commit_index_, commit, args.leader_id);
      commit_index_ = commit;
      apply_cv_.NotifyAll();
    }
  }
  reply->success = true;
  reply->match_index = last_new;
}

int64_t Raft::UnappliedBytesLocked() const {
  int64_t bytes = 0;
  for (int64_t i = std::max(last_applied_, snapshot_index_) + 1; i <= commit_index_; ++i) {
    bytes += static_cast<int64_t>(EntryLocked(i).command.size());
  }
  return bytes;
}

// The only task that sends on the apply channel, so entries arrive in
// order; it never holds the lock while sending (the service may call
// Snapshot() or Start() while it processes a message).
void Raft::Applier() {
  while (true) {
    std::vector<ApplyMsg> batch;
    {
      lab::MutexLock l(&mu_);
      while (!dead_ && !snapshot_pending_ && last_applied_ >= commit_index_) apply_cv_.Wait(&mu_);
      if (dead_) return;
      if (snapshot_pending_) {
        // BEGIN SOLUTION 2D
        ApplyMsg msg;
        msg.snapshot_valid = true;
        msg.snapshot = snapshot_;
        msg.snapshot_term = log_[0].term;
        msg.snapshot_index = snapshot_index_;
        snapshot_pending_ = false;
        last_applied_ = snapshot_index_;
        batch.push_back(std::move(msg));
        // END SOLUTION
      } else {
        // The service may have snapshotted past what we last recorded.
        last_applied_ = std::max(last_applied_, snapshot_index_);
        for (int64_t i = last_applied_ + 1; i <= commit_index_; ++i) {
          ApplyMsg msg;
          msg.command_valid = true;
          msg.command = EntryLocked(i).command;
          msg.command_index = i;
          msg.command_term = TermAtLocked(i);
          batch.push_back(std::move(msg));
        }
      }
    }
    int64_t last = 0;
    for (ApplyMsg& msg : batch) {
      {
        // After Kill(), send nothing more: the tester watches (as Go's does).
        lab::MutexLock l(&mu_);
        if (dead_) return;
      }
      last = msg.command_valid ? msg.command_index : msg.snapshot_index;
      apply_ch_->Send(std::move(msg));
    }
    lab::MutexLock l(&mu_);
    last_applied_ = std::max(last_applied_, last);
  }
}

// END SOLUTION
// HANDOUT: // The AppendEntries handler: heartbeats (2A) and log entries (2B).
// HANDOUT: void Raft::AppendEntries(const AppendEntriesArgs& /*args*/,
// HANDOUT:                          AppendEntriesReply* /*reply*/) {
// HANDOUT:   // Your code here (2A, 2B): Figure 2's AppendEntries rules. A current
// HANDOUT:   // leader's call resets the election timer.
// HANDOUT: }

// BEGIN SOLUTION 2C

// --- Persistence (§5, Figure 2) ----------------------------------------------

std::string Raft::EncodeStateLocked() {
  // The log moves into the message and back rather than being copied: it
  // is persisted whole after every change, so this is the hot path.
  PersistentState state{current_term_, voted_for_, snapshot_index_, std::move(log_)};
  std::string bytes = labrpc::Encode(state, persister_->RaftStateSize() + 1024);
  log_ = std::move(state.log);
  return bytes;
}

void Raft::PersistLocked() {
  std::string state = EncodeStateLocked();
  LAB_LOG(PERSIST, "term %d, voted for %d, log %d..%d (%d bytes)", current_term_, voted_for_,
          snapshot_index_, LastIndexLocked(), state.size());
  persister_->Save(std::move(state), snapshot_);
}

void Raft::ReadPersistLocked(const std::string& data) {
  if (data.empty()) return;  // a fresh peer
  PersistentState state;
  if (absl::Status s = labrpc::Decode(data, &state); !s.ok()) {
    lab::internal::Fatal("raft: cannot read the persisted state: " + std::string(s.message()));
  }
  current_term_ = state.current_term;
  voted_for_ = state.voted_for;
  snapshot_index_ = state.snapshot_index;
  log_ = std::move(state.log);
}

// END SOLUTION
// HANDOUT: // Saves the state that must survive a crash: Figure 2's persistent state
// HANDOUT: // (currentTerm, votedFor, log[]), and in 2D what the snapshot covers.
// HANDOUT: // Call it after every change to that state, before replying to an RPC or
// HANDOUT: // sending one that depends on the change.
// HANDOUT: void Raft::PersistLocked() {
// HANDOUT:   // Your code here (2C). For example, with a struct Saved that lists its
// HANDOUT:   // fields in a serialize method:
// HANDOUT:   //   Saved saved{current_term_, voted_for_, log_};
// HANDOUT:   //   persister_->Save(labrpc::Encode(saved), "");  // 2D: the snapshot, not ""
// HANDOUT: }
// HANDOUT:
// HANDOUT: // Restores what PersistLocked saved (the constructor calls it).
// HANDOUT: void Raft::ReadPersistLocked(const std::string& data) {
// HANDOUT:   if (data.empty()) return;  // nothing saved yet: a new peer
// HANDOUT:   // Your code here (2C). For example:
// HANDOUT:   //   Saved saved;
// HANDOUT:   //   absl::Status status = labrpc::Decode(data, &saved);  // stop if !status.ok()
// HANDOUT:   //   current_term_ = saved.current_term;  ...
// HANDOUT: }

// BEGIN SOLUTION 2D

// --- Snapshots (§7, Figure 13) -----------------------------------------------

void Raft::Snapshot(int64_t index, std::string snapshot) {
  lab::MutexLock l(&mu_);
  if (index <= snapshot_index_ || index > commit_index_) return;  // stale, or not committed
  std::vector<LogEntry> rest;
  rest.push_back(LogEntry{TermAtLocked(index), ""});  // the new sentinel
  for (int64_t i = index + 1; i <= LastIndexLocked(); ++i) rest.push_back(EntryLocked(i));
  LAB_LOG(SNAP, "service snapshot up to %d (%d bytes); log now %d..%d", index, snapshot.size(),
          index, LastIndexLocked());
  log_ = std::move(rest);
  snapshot_index_ = index;
  snapshot_ = std::move(snapshot);
  PersistLocked();
}

void Raft::SendSnapshotLocked(int peer) {
  LAB_LOG(SNAP, "%d needs entries up to %d I no longer have: sending my snapshot", peer,
          snapshot_index_);
  InstallSnapshotArgs args{current_term_, me_, snapshot_index_, log_[0].term, snapshot_};
  TrySendLocked(peer, [this, peer, args = std::move(args)] {
    InstallSnapshotReply reply;
    if (!peers_[peer]->Call("Raft.InstallSnapshot", args, &reply)) return;
    lab::MutexLock l(&mu_);
    if (dead_) return;
    if (StepDownIfNewerTermLocked(reply.term)) return;
    if (role_ != Role::kLeader || current_term_ != args.term) return;
    since_ack_[peer] = absl::ZeroDuration();
    match_index_[peer] = std::max(match_index_[peer], args.last_included_index);
    next_index_[peer] = std::max(next_index_[peer], match_index_[peer] + 1);
    AdvanceCommitLocked();
  });
}

void Raft::InstallSnapshot(const InstallSnapshotArgs& args, InstallSnapshotReply* reply) {
  lab::MutexLock l(&mu_);
  // Reply immediately if term < currentTerm (Figure 13).
  if (args.term < current_term_) {
    reply->term = current_term_;
    return;
  }
  const bool new_term = args.term > current_term_;
  BecomeFollowerLocked(args.term);
  ResetElectionTimerLocked();
  reply->term = current_term_;
  if (new_term) PersistLocked();
  // What we have committed we keep: the entries are all still in our log.
  if (args.last_included_index <= commit_index_) return;
  // If existing log entry has same index and term as snapshot's last
  // included entry, retain log entries following it; otherwise discard the
  // entire log (Figure 13).
  std::vector<LogEntry> rest;
  rest.push_back(LogEntry{args.last_included_term, ""});
  if (args.last_included_index <= LastIndexLocked() &&
      TermAtLocked(args.last_included_index) == args.last_included_term) {
    for (int64_t i = args.last_included_index + 1; i <= LastIndexLocked(); ++i) {
      rest.push_back(EntryLocked(i));
    }
  }
  LAB_LOG(SNAP, "installing leader %d's snapshot up to %d (term %d)", args.leader_id,
          args.last_included_index, args.last_included_term);
  log_ = std::move(rest);
  snapshot_index_ = args.last_included_index;
  snapshot_ = args.data;
  commit_index_ = std::max(commit_index_, snapshot_index_);
  PersistLocked();
  // The applier hands the snapshot to the service before any later entry.
  snapshot_pending_ = true;
  apply_cv_.NotifyAll();
}

// END SOLUTION
// HANDOUT: // The service (the tester, or your KV server in Lab 3) has a snapshot of
// HANDOUT: // its state that covers every entry up to and including `index`.
// HANDOUT: void Raft::Snapshot(int64_t /*index*/, std::string /*snapshot*/) {
// HANDOUT:   // Your code here (2D): discard the log through `index` (keep that
// HANDOUT:   // entry's term: the consistency check needs it), and persist your state
// HANDOUT:   // together with the snapshot. A call for an index already discarded is
// HANDOUT:   // stale: ignore it.
// HANDOUT: }
// HANDOUT:
// HANDOUT: // The InstallSnapshot handler (Figure 13): a leader sends its snapshot to
// HANDOUT: // a follower that needs entries the leader has discarded.
// HANDOUT: void Raft::InstallSnapshot(const InstallSnapshotArgs& /*args*/,
// HANDOUT:                            InstallSnapshotReply* /*reply*/) {
// HANDOUT:   // Your code here (2D): install a snapshot newer than your state, keep
// HANDOUT:   // the log entries that follow it, and deliver it on apply_ch_ as an
// HANDOUT:   // ApplyMsg with snapshot_valid = true, before any later entry.
// HANDOUT: }

}  // namespace raft
