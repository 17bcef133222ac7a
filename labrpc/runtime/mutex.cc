// labrpc/runtime/mutex.cc
//
// In threads, Mutex is its OS mutex. In sim, os_ only guards the sim state
// for the instant it is touched (it is never held across a task switch), and
// waiting happens through the runtime so the scheduler sees it.

#include "labrpc/runtime/mutex.h"

#include "labrpc/runtime/runtime.h"

namespace lab {

using internal::InSim;
using internal::Wake;

void Mutex::lock() {
  if (!InSim()) {
    internal::SchedulingPoint();  // a killed task stops here
    os_.lock();
    return;
  }
  SimLock(/*interruptible=*/true);
}

void Mutex::LockAfterWait() {
  if (!InSim()) {
    os_.lock();
    return;
  }
  SimLock(/*interruptible=*/false);
}

void Mutex::SimLock(bool interruptible) {
  if (interruptible) internal::SchedulingPoint();
  std::unique_lock<std::mutex> lk(os_);
  while (sim_locked_) {
    internal::Waiter w;
    sim_waiters_.PushBack(&w);
    if (internal::WaitOn(lk, sim_waiters_, w, absl::InfiniteFuture(), "Mutex.lock",
                         interruptible) == Wake::kKilled) {
      if (w.notified) internal::NotifyFront(sim_waiters_);  // our turn goes to the next
      throw TaskKilled();
    }
  }
  sim_locked_ = true;
}

bool Mutex::try_lock() {
  if (!InSim()) return os_.try_lock();
  std::lock_guard<std::mutex> lk(os_);
  if (sim_locked_) return false;
  sim_locked_ = true;
  return true;
}

void Mutex::unlock() {
  if (!InSim()) {
    os_.unlock();
    return;
  }
  std::lock_guard<std::mutex> lk(os_);
  if (!sim_locked_) internal::Fatal("lab::Mutex::unlock of a mutex that is not locked");
  sim_locked_ = false;
  internal::NotifyFront(sim_waiters_);
}

}  // namespace lab
