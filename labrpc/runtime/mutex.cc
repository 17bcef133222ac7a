// labrpc/runtime/mutex.cc
//
// One implementation for both runtimes: a flag and a wait list under a
// std::mutex that is held only for the instant they are touched (never
// across a task switch), with waiting done through the runtime, so a kill
// can interrupt it and the sim scheduler sees it.

#include "labrpc/runtime/mutex.h"

#include "labrpc/runtime/race.h"
#include "labrpc/runtime/runtime.h"

namespace lab {

using internal::Wake;

// Happens-before: every unlock() happens before the lock() that follows it
// (race.h), on the mutex's own address.

void Mutex::lock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  internal::race::Section section;
  internal::SchedulingPoint("Mutex.lock");
  Acquire(/*interruptible=*/true);
}

void Mutex::LockAfterWait() {
  internal::race::Section section;
  Acquire(/*interruptible=*/false);
}

void Mutex::Acquire(bool interruptible) {
  std::unique_lock<std::mutex> lk(mu_);
  while (locked_) {
    internal::Waiter w;
    waiters_.PushBack(&w);
    if (internal::WaitOn(lk, waiters_, w, absl::InfiniteFuture(), "Mutex.lock", interruptible) ==
        Wake::kKilled) {
      throw TaskKilled();
    }
    lk.lock();  // notified: the mutex lives on, since we are here to take it
  }
  locked_ = true;
  lk.unlock();
  internal::race::Acquire(this);
  if (interruptible) {
    // Killed while it waited: it runs no more lab code.
    try {
      internal::ThrowIfKilled();
    } catch (const TaskKilled&) {
      unlock();
      throw;
    }
  }
}

bool Mutex::try_lock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  internal::race::Section section;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (locked_) return false;
    locked_ = true;
  }
  internal::race::Acquire(this);
  return true;
}

void Mutex::unlock() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  internal::race::Section section;
  internal::race::Release(this);
  internal::Wakeups wake;  // wakes after the unlock
  std::lock_guard<std::mutex> lk(mu_);
  if (!locked_) internal::Fatal("lab::Mutex::unlock of a mutex that is not locked");
  locked_ = false;
  wake.NotifyFront(waiters_);
}

}  // namespace lab
