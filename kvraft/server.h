// kvraft/server.h
//
// A KV server (Lab 3): one replica of a key/value store replicated with
// Raft, yours to write in server.cc (3A: labs/3A/README.md; 3B, snapshots:
// labs/3B/README.md), with your fields and helpers in the class below. Keep
// the public API: the tester calls it.
//
// Every client operation, reads included, goes through the Raft log; a
// server answers a Clerk only once the operation has been applied at the
// log index Raft gave it (or says ErrWrongLeader if it is not the leader or
// loses leadership first). With maxraftstate >= 0 (3B), a server snapshots
// its state when Raft's persisted state grows near maxraftstate bytes, and
// restores the latest snapshot when it restarts.
//
//   kvraft::KVServer kv(ends, me, persister, /*maxraftstate=*/1000);
//   // the tester registers kv.Get / kv.PutAppend as service "KVServer"
//   // and kv.raft()'s handlers as service "Raft" on one labrpc server.
//   kv.Kill();
//
// Everything must go through the lab runtime (lab::Go, lab::Mutex, ...).

#ifndef KVRAFT_SERVER_H_
#define KVRAFT_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "kvraft/common.h"
#include "labrpc/network.h"
#include "labrpc/persister.h"
#include "labrpc/runtime/lab.h"
#include "raft/raft.h"

namespace kvraft {

class KVServer {
 public:
  // servers[i] is the end to server i's Raft (servers[me] is this one's);
  // maxraftstate < 0: never snapshot. Starts Raft and the server's tasks.
  KVServer(std::vector<std::shared_ptr<labrpc::ClientEnd>> servers, int me,
           std::shared_ptr<labrpc::Persister> persister, int64_t maxraftstate);
  ~KVServer();
  KVServer(const KVServer&) = delete;
  KVServer& operator=(const KVServer&) = delete;

  // RPC handlers.
  void Get(const GetArgs& args, GetReply* reply);
  void PutAppend(const PutAppendArgs& args, PutAppendReply* reply);

  // Stops the server and its Raft (the tester also kills their tasks).
  void Kill();
  bool Killed() const;

  // This server's Raft peer: the tester registers its RPC handlers and asks
  // it who leads.
  raft::Raft* raft() { return raft_.get(); }

 private:
  // BEGIN SOLUTION 3A
  // One operation as it travels through the Raft log.
  struct Op {
    std::string kind;  // "Get", "Put" or "Append"
    std::string key;
    std::string value;
    int64_t client_id = 0;
    int64_t seq = 0;
    template <class A>
    void serialize(A& a) {
      a(kind, key, value, client_id, seq);
    }
  };
  // What applying an operation at a log index gave.
  struct Applied {
    int64_t client_id = 0;
    int64_t seq = 0;
    Err err;
    std::string value;
  };
  // A handler waiting for its operation's index to be applied.
  struct Waiter {
    bool done = false;
    Applied applied;
  };

  // Puts `op` through Raft and waits until it is applied; returns the
  // outcome, or err = kErrWrongLeader / kErrTimeout.
  Applied Submit(const Op& op);
  // Reads the apply channel until it closes or the server dies.
  void Applier();
  Applied ApplyLocked(const Op& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // END SOLUTION
  // HANDOUT: // Your code here (3A): the operation you put in the Raft log (a struct
  // HANDOUT: // with a serialize method), and your helpers.

  // BEGIN SOLUTION 3B
  // What a snapshot holds: the store, the duplicate table, and the index
  // of the last operation in it.
  struct SnapshotState {
    int64_t last_applied = 0;
    std::map<std::string, std::string> data;
    std::map<int64_t, int64_t> last_seq;
    template <class A>
    void serialize(A& a) {
      a(last_applied, data, last_seq);
    }
  };
  void MaybeSnapshotLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RestoreLocked(const std::string& snapshot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // END SOLUTION

  const int me_;
  const int64_t maxraftstate_;
  const std::shared_ptr<labrpc::Persister> persister_;
  const std::shared_ptr<lab::Chan<raft::ApplyMsg>> apply_ch_;
  std::unique_ptr<raft::Raft> raft_;

  mutable lab::Mutex mu_;
  bool dead_ ABSL_GUARDED_BY(mu_) = false;
  // BEGIN SOLUTION 3A
  lab::CondVar applied_cv_;  // notified when an index is applied, or on Kill
  std::map<std::string, std::string> data_ ABSL_GUARDED_BY(mu_);
  // The duplicate table: each clerk's last applied Put/Append seq.
  std::map<int64_t, int64_t> last_seq_ ABSL_GUARDED_BY(mu_);
  int64_t last_applied_ ABSL_GUARDED_BY(mu_) = 0;
  std::multimap<int64_t, Waiter*> waiters_ ABSL_GUARDED_BY(mu_);  // by log index
  // END SOLUTION
  // HANDOUT: // Your code here (3A): the store, the duplicate table, what waiting
  // HANDOUT: // handlers need; each field ABSL_GUARDED_BY(mu_).
};

}  // namespace kvraft

#endif  // KVRAFT_SERVER_H_
