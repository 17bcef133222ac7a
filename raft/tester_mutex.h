// raft/tester_mutex.h
//
// The testers' lock for state that tasks consult on every message (the
// safety monitor, the kill watch): held for a few lines, never across a
// runtime call, and not a scheduling point in sim (a lab::Mutex is one, and
// would change every run's schedule).
//
// It is a std::mutex, which ThreadSanitizer sees in both runtimes
// (./grade --race). An absl::Mutex would not do: Debian's Abseil is not
// built with TSan, so TSan cannot see it order anything, and every race-mode
// run of a correct solution would report the state it guards as raced.
// Abseil's thread-safety annotations still check its use.
//
//   TesterMutex mu_;
//   int n_ ABSL_GUARDED_BY(mu_);
//   TesterMutexLock l(&mu_);

#ifndef RAFT_TESTER_MUTEX_H_
#define RAFT_TESTER_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace raft {

class ABSL_LOCKABLE TesterMutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE TesterMutexLock {
 public:
  explicit TesterMutexLock(TesterMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~TesterMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  TesterMutexLock(const TesterMutexLock&) = delete;
  TesterMutexLock& operator=(const TesterMutexLock&) = delete;

 private:
  TesterMutex* const mu_;
};

}  // namespace raft

#endif  // RAFT_TESTER_MUTEX_H_
