// kvraft/server.cc
//
// Your KV server (Lab 3): a key/value store kept identical on every server
// by putting each client operation, reads included, through the Raft log.
// 3A: labs/3A/README.md; 3B (snapshots): labs/3B/README.md.
//
// The parts (the write-ups say more):
// - the handlers Get and PutAppend, which the network runs each in a task of
//   its own: hand the operation to raft_->Start(), wait until it has been
//   applied at the index Start() returned, and answer; answer
//   kErrWrongLeader at once when this server's Raft is not the leader, or
//   when it loses leadership before the operation is applied;
// - one task that reads apply_ch_ and applies each committed operation to
//   the store in log order, applying a retried Put/Append only once;
// - in 3B, a snapshot of the store (and duplicate table) handed to
//   raft_->Snapshot() when persister_->RaftStateSize() nears maxraftstate_,
//   and restored on a restart or from a snapshot on apply_ch_.
//
// Use the lab runtime (lab::Go, lab::Mutex, lab::CondVar, lab::Now, ...),
// and after Kill() let every task end.
// BEGIN SOLUTION 3A
//
// The reference server: every operation is a Raft log entry; an applier
// task applies committed entries in order to the store, skipping Put/Append
// requests it has applied already (the duplicate table), and hands each
// waiting handler the outcome at its index. A handler gives up when its
// index was filled by another operation (leadership lost), when Raft's term
// moves on or it is no longer leader, or after a timeout.
// END SOLUTION
// HANDOUT:
#include "kvraft/server.h"

#include <optional>
#include <utility>

#include "labrpc/codec.h"

namespace kvraft {

// BEGIN SOLUTION 3A
namespace {
// How long a handler waits for its operation to apply before it lets the
// clerk try elsewhere (a leader cut off from its majority never commits).
constexpr absl::Duration kApplyTimeout = absl::Seconds(1);
// How often a waiting handler checks that its Raft still leads in its term.
constexpr absl::Duration kLeadershipCheck = absl::Milliseconds(100);
}  // namespace
// END SOLUTION

KVServer::KVServer(std::vector<std::shared_ptr<labrpc::ClientEnd>> servers, int me,
                   std::shared_ptr<labrpc::Persister> persister, int64_t maxraftstate)
    : me_(me),
      maxraftstate_(maxraftstate),
      persister_(std::move(persister)),
      apply_ch_(std::make_shared<lab::Chan<raft::ApplyMsg>>()) {
  // BEGIN SOLUTION 3B
  {
    lab::MutexLock l(&mu_);
    RestoreLocked(persister_->ReadSnapshot());
  }
  // END SOLUTION
  // HANDOUT: // Your code here (3B): restore the state from persister_->ReadSnapshot().
  raft_ = std::make_unique<raft::Raft>(std::move(servers), me_, persister_, apply_ch_);
  // BEGIN SOLUTION 3A
  lab::Go("kv applier", [this] { Applier(); });
  // END SOLUTION
  // HANDOUT: // Your code here (3A): start the task that reads apply_ch_ (lab::Go).
  // HANDOUT: // The constructor must return at once.
}

KVServer::~KVServer() = default;

void KVServer::Kill() {
  {
    lab::MutexLock l(&mu_);
    dead_ = true;
    // BEGIN SOLUTION 3A
    applied_cv_.NotifyAll();
    // END SOLUTION
    // HANDOUT: // Your code here (3A): wake the tasks that wait, so they see dead_.
  }
  raft_->Kill();
}

bool KVServer::Killed() const {
  lab::MutexLock l(&mu_);
  return dead_;
}

void KVServer::Get(const GetArgs& args, GetReply* reply) {
  // BEGIN SOLUTION 3A
  // Reads go through the log too: a leader that was deposed without knowing
  // it could otherwise return a stale value (§8 of the Raft paper).
  Applied applied = Submit(Op{"Get", args.key, "", args.client_id, args.seq});
  reply->err = applied.err;
  reply->value = std::move(applied.value);
  // END SOLUTION
  // HANDOUT: // Your code here (3A): reads go through the Raft log too (a deposed
  // HANDOUT: // leader that does not know it yet would answer from stale state).
  // HANDOUT: (void)args, (void)reply;
}

void KVServer::PutAppend(const PutAppendArgs& args, PutAppendReply* reply) {
  // BEGIN SOLUTION 3A
  if (args.op != "Put" && args.op != "Append") {
    reply->err = "ErrBadOp";
    return;
  }
  reply->err = Submit(Op{args.op, args.key, args.value, args.client_id, args.seq}).err;
  // END SOLUTION
  // HANDOUT: // Your code here (3A): args.op is "Put" or "Append".
  // HANDOUT: (void)args, (void)reply;
}

// BEGIN SOLUTION 3A

KVServer::Applied KVServer::Submit(const Op& op) {
  Applied outcome;
  outcome.err = kErrWrongLeader;
  lab::MutexLock l(&mu_);
  if (dead_) return outcome;
  const raft::StartResult started = raft_->Start(labrpc::Encode(op));
  if (!started.is_leader) return outcome;
  LAB_LOG(KV, "%s %s (client %d #%d): started at index %d, term %d", op.kind, op.key,
          op.client_id, op.seq, started.index, started.term);

  Waiter waiter;
  auto registered = waiters_.emplace(started.index, &waiter);
  // Unregister however this ends (a killed task unwinds with mu_ held).
  struct Unregister {
    KVServer* kv;
    std::multimap<int64_t, Waiter*>::iterator it;
    ~Unregister() ABSL_NO_THREAD_SAFETY_ANALYSIS { kv->waiters_.erase(it); }
  } unregister{this, registered};

  const absl::Time deadline = lab::Now() + kApplyTimeout;
  while (!waiter.done && !dead_) {
    if (applied_cv_.WaitFor(&mu_, kLeadershipCheck) || waiter.done) continue;
    const auto [term, is_leader] = raft_->GetState();
    if (term != started.term || !is_leader) {
      LAB_LOG(KV, "lost leadership before index %d committed: clerk retries", started.index);
      return outcome;  // kErrWrongLeader
    }
    if (lab::Now() >= deadline) {
      LAB_LOG(KV, "index %d not committed in %s: clerk retries elsewhere", started.index,
              absl::FormatDuration(kApplyTimeout));
      outcome.err = kErrTimeout;
      return outcome;
    }
  }
  // Another operation at our index means this server lost leadership
  // before ours committed: the clerk must try again (elsewhere).
  if (!waiter.done || waiter.applied.client_id != op.client_id || waiter.applied.seq != op.seq) {
    return outcome;
  }
  return waiter.applied;
}

void KVServer::Applier() {
  while (std::optional<raft::ApplyMsg> msg = apply_ch_->Recv()) {
    lab::MutexLock l(&mu_);
    if (dead_) return;
    if (msg->command_valid) {
      if (msg->command_index <= last_applied_) continue;  // in a snapshot already
      Op op;
      if (absl::Status status = labrpc::Decode(msg->command, &op); !status.ok()) {
        lab::internal::Fatal("kvraft: log entry " + std::to_string(msg->command_index) +
                             " is not an operation: " + std::string(status.message()));
      }
      const Applied applied = ApplyLocked(op);
      last_applied_ = msg->command_index;
      auto [first, last] = waiters_.equal_range(msg->command_index);
      for (auto it = first; it != last; ++it) {
        it->second->applied = applied;
        it->second->done = true;
      }
      applied_cv_.NotifyAll();
      // BEGIN SOLUTION 3B
      MaybeSnapshotLocked();
      // END SOLUTION
    }
    // BEGIN SOLUTION 3B
    if (msg->snapshot_valid && msg->snapshot_index > last_applied_) {
      RestoreLocked(msg->snapshot);
      applied_cv_.NotifyAll();
    }
    // END SOLUTION
  }
}

KVServer::Applied KVServer::ApplyLocked(const Op& op) {
  Applied applied{op.client_id, op.seq, kOK, ""};
  if (op.kind == "Get") {
    auto it = data_.find(op.key);
    if (it == data_.end()) {
      applied.err = kErrNoKey;
    } else {
      applied.value = it->second;
    }
    return applied;
  }
  // Apply each clerk's Put/Append at most once: a clerk retries a request
  // whose reply it did not get, and the first try may have committed.
  auto last = last_seq_.find(op.client_id);
  if (last != last_seq_.end() && last->second >= op.seq) {
    LAB_LOG(APPLY, "duplicate %s (client %d #%d): not applied again", op.kind, op.client_id,
            op.seq);
    return applied;
  }
  if (op.kind == "Put") {
    data_[op.key] = op.value;
  } else {
    data_[op.key] += op.value;
  }
  last_seq_[op.client_id] = op.seq;
  return applied;
}

// END SOLUTION

// BEGIN SOLUTION 3B

void KVServer::MaybeSnapshotLocked() {
  if (maxraftstate_ < 0) return;
  // Read once: the persister's lock is a scheduling point, which a log line
  // must not add.
  const int64_t raft_state_size = persister_->RaftStateSize();
  if (raft_state_size < maxraftstate_) return;
  // Encode the store in place rather than copy it.
  SnapshotState state;
  state.last_applied = last_applied_;
  state.data = std::move(data_);
  state.last_seq = std::move(last_seq_);
  std::string bytes = labrpc::Encode(state);
  data_ = std::move(state.data);
  last_seq_ = std::move(state.last_seq);
  // Raft discards the log up to last_applied_ and persists the snapshot
  // with its state (§7).
  LAB_LOG(SNAP, "Raft state %d bytes >= %d: snapshot up to %d (%d bytes)", raft_state_size,
          maxraftstate_, last_applied_, bytes.size());
  raft_->Snapshot(last_applied_, std::move(bytes));
}

void KVServer::RestoreLocked(const std::string& snapshot) {
  if (snapshot.empty()) return;
  SnapshotState state;
  if (absl::Status status = labrpc::Decode(snapshot, &state); !status.ok()) {
    lab::internal::Fatal("kvraft: cannot decode a snapshot: " + std::string(status.message()));
  }
  data_ = std::move(state.data);
  last_seq_ = std::move(state.last_seq);
  LAB_LOG(SNAP, "restored a snapshot up to %d (%d keys)", state.last_applied, data_.size());
  last_applied_ = state.last_applied;
  // Handlers waiting on indices the snapshot covers will never see their
  // entry: tell them to retry (duplicate detection keeps that safe).
  for (auto it = waiters_.begin(); it != waiters_.end() && it->first <= last_applied_; ++it) {
    it->second->applied = Applied{-1, -1, kErrWrongLeader, ""};
    it->second->done = true;
  }
}

// END SOLUTION

}  // namespace kvraft
