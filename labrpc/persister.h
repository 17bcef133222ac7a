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
// Writes take time, as a disk's do: in the sim runtime, where running code
// takes no virtual time, Save and SaveRaftState sleep kWriteLatency plus
// kWriteTimePerKiB for each KiB written before they store (a crash during
// the sleep loses the write, as a crash before the disk acknowledged would).
// Without that, a service whose every operation persists would do an
// unbounded number of operations per virtual second. In the threads runtime
// the real cost of writing (and encoding) is the cost; nothing is added.
//
// Thread safety: every method may be called from any task.

#ifndef LABRPC_PERSISTER_H_
#define LABRPC_PERSISTER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "labrpc/runtime/mutex.h"

namespace labrpc {

class Persister {
 public:
  // The sim runtime's model of a write's cost (see above): about Go's cost
  // of encoding and storing a Raft state, so logs that are re-persisted
  // whole slow a service down as they grow, as they do in the Go labs.
  static constexpr absl::Duration kWriteLatency = absl::Microseconds(50);
  static constexpr absl::Duration kWriteTimePerKiB = absl::Microseconds(20);  // ~50 MB/s

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
  // In sim, sleeps for the time writing `bytes` takes.
  static void ChargeWriteTime(size_t bytes);

  mutable lab::Mutex mu_;
  std::string raft_state_ ABSL_GUARDED_BY(mu_);
  std::string snapshot_ ABSL_GUARDED_BY(mu_);
};

}  // namespace labrpc

#endif  // LABRPC_PERSISTER_H_
