// labrpc/runtime/mutex.h
//
// The lab's mutex. BasicLockable (works with std::lock_guard and
// std::unique_lock) and an Abseil capability, so clang's -Wthread-safety
// checks ABSL_GUARDED_BY fields:
//
//   mutable lab::Mutex mu_;
//   int64_t term_ ABSL_GUARDED_BY(mu_);
//   ...
//   lab::MutexLock l(&mu_);
//
// lock() is a scheduling point in sim (the scheduler may run another task
// first), and in both runtimes a killed task gets lab::TaskKilled from it. A
// task waiting for a held mutex parks (spinning briefly first in threads);
// the deadlock report shows it as "Mutex.lock". Not recursive; unlock only
// from the task that locked it.

#ifndef LABRPC_RUNTIME_MUTEX_H_
#define LABRPC_RUNTIME_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "labrpc/runtime/wait_list.h"

namespace lab {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION();
  void unlock() ABSL_UNLOCK_FUNCTION();
  bool try_lock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true);

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { unlock(); }

  // For the thread-safety analysis only; checks nothing at run time.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class CondVar;

  // Re-acquires after a condition wait; never throws TaskKilled.
  void LockAfterWait();
  // Waits until the mutex is free and takes it.
  void Acquire(bool interruptible);

  std::mutex mu_;  // guards the two below; never held while waiting
  bool locked_ = false;
  internal::WaitList waiters_;
};

// Holds a Mutex for a scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace lab

#endif  // LABRPC_RUNTIME_MUTEX_H_
