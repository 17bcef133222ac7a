// labrpc/persister.h
//
// Stands in for a disk: holds a Raft peer's persistent state and its latest
// snapshot, as opaque bytes. The tester gives each peer a Persister, and
// when it "crashes" a peer it hands the restarted peer a Copy(), so the old
// instance can no longer change what the new one reads.
//
//   persister->Save(EncodeRaftState(), snapshot);   // both at once
//   std::string state = persister->ReadRaftState();
//
// Thread safety: every method may be called from any task.

#ifndef LABRPC_PERSISTER_H_
#define LABRPC_PERSISTER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "labrpc/runtime/mutex.h"

namespace labrpc {

class Persister {
 public:
  Persister() = default;
  Persister(const Persister&) = delete;
  Persister& operator=(const Persister&) = delete;

  // A new persister holding the same bytes; the two then change separately.
  std::shared_ptr<Persister> Copy() const;

  // Replaces the Raft state and the snapshot together (atomically).
  void Save(std::string raft_state, std::string snapshot);
  // Replaces the Raft state only, keeping the snapshot.
  void SaveRaftState(std::string raft_state);

  std::string ReadRaftState() const;
  std::string ReadSnapshot() const;
  int64_t RaftStateSize() const;
  int64_t SnapshotSize() const;

 private:
  mutable lab::Mutex mu_;
  std::string raft_state_ ABSL_GUARDED_BY(mu_);
  std::string snapshot_ ABSL_GUARDED_BY(mu_);
};

}  // namespace labrpc

#endif  // LABRPC_PERSISTER_H_
