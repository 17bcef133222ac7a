// labrpc/runtime/cond_var.h
//
// A condition variable for lab::Mutex.
//
//   lab::MutexLock l(&mu_);
//   while (commit_index_ <= last_applied_) cond_.Wait(&mu_);
//
// Wait* may wake spuriously: always wait in a loop on the condition.
// WaitFor/WaitUntil return false if the time ran out (runtime time: virtual
// in sim). A killed task gets lab::TaskKilled out of a wait, with the mutex
// held again (so a lock guard unwinds normally).

#ifndef LABRPC_RUNTIME_COND_VAR_H_
#define LABRPC_RUNTIME_COND_VAR_H_

#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "labrpc/runtime/mutex.h"
#include "labrpc/runtime/wait_list.h"

namespace lab {

class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  bool WaitFor(Mutex* mu, absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  bool WaitUntil(Mutex* mu, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // The same with a std::unique_lock that holds the mutex (std::unique_lock
  // carries no annotations, so the analysis cannot follow it).
  void Wait(std::unique_lock<Mutex>& lock) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    Wait(lock.mutex());
  }
  bool WaitFor(std::unique_lock<Mutex>& lock, absl::Duration timeout)
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return WaitFor(lock.mutex(), timeout);
  }
  bool WaitUntil(std::unique_lock<Mutex>& lock, absl::Time deadline)
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return WaitUntil(lock.mutex(), deadline);
  }

  void NotifyOne();
  void NotifyAll();

 private:
  std::mutex mu_;
  internal::WaitList waiters_;
};

}  // namespace lab

#endif  // LABRPC_RUNTIME_COND_VAR_H_
