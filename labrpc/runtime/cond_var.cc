// labrpc/runtime/cond_var.cc
//
// CondVar on the runtime's wait lists: the same code in both runtimes.

#include "labrpc/runtime/cond_var.h"

#include "labrpc/runtime/race.h"
#include "labrpc/runtime/runtime.h"

namespace lab {

using internal::Wake;

void CondVar::Wait(Mutex* mu) { WaitUntil(mu, absl::InfiniteFuture()); }

bool CondVar::WaitFor(Mutex* mu, absl::Duration timeout) {
  return WaitUntil(mu, timeout == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                            : lab::Now() + timeout);
}

// Happens-before: a Notify*() happens before the return of every wait it
// wakes (race.h), on the condition variable's own address; a wait that times
// out is ordered only by the mutex.

// Releases and re-acquires `mu`, which the analysis cannot express.
bool CondVar::WaitUntil(Mutex* mu, absl::Time deadline) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  internal::race::Section section;
  internal::Waiter w;
  std::unique_lock<std::mutex> lk(mu_);
  waiters_.PushBack(&w);
  // Once linked, no notification can be missed: release our own lock before
  // the caller's mutex, so the two are never held together.
  lk.unlock();
  mu->unlock();
  Wake wake = internal::WaitOn(lk, waiters_, w, deadline, "CondVar.Wait", /*interruptible=*/true);
  if (lk.owns_lock()) lk.unlock();
  if (wake == Wake::kNotified) internal::race::Acquire(this);
  mu->LockAfterWait();
  if (wake == Wake::kKilled) throw TaskKilled();
  internal::ThrowIfKilled();  // woken, but killed meanwhile
  return wake == Wake::kNotified;
}

void CondVar::NotifyOne() {
  internal::race::Section section;
  internal::race::Release(this);
  internal::Wakeups wake;  // wakes after the unlock
  std::lock_guard<std::mutex> lk(mu_);
  wake.NotifyFront(waiters_);
}

void CondVar::NotifyAll() {
  internal::race::Section section;
  internal::race::Release(this);
  internal::Wakeups wake;  // wakes after the unlock
  std::lock_guard<std::mutex> lk(mu_);
  while (wake.NotifyFront(waiters_)) {
  }
}

}  // namespace lab
