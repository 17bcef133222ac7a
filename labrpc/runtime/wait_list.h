// labrpc/runtime/wait_list.h
//
// Internal to the runtime: the one blocking mechanism every primitive
// (Mutex, CondVar, Chan, TaskGroup::Join) is built on, in both runtimes.
//
// A primitive keeps its waiters in a WaitList guarded by its own std::mutex.
// A waiting task links a Waiter (on its stack) into the list, then WaitOn()
// parks the task until someone calls Notify() on that Waiter, the deadline
// passes, or the task is killed.
//
// Either side may destroy the primitive as soon as the hand-off is done, as
// in   lab::Chan<int> done;  lab::Go("t", [&] { done.Send(1); });  done.Recv();
// So: once notified, a waiter never touches the primitive again (not even
// its lock); and a notifier marks waiters notified under the lock but wakes
// their tasks only after it has released the lock, through a handle that
// outlives the waiter. A Wakeups object does that:
//
//   internal::Wakeups wake;                   // declared before the lock,
//   std::unique_lock<std::mutex> lk(mu_);     // so it runs after the unlock
//   wake.NotifyFront(waiters_);

#ifndef LABRPC_RUNTIME_WAIT_LIST_H_
#define LABRPC_RUNTIME_WAIT_LIST_H_

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace lab::internal {

struct TaskBase;

enum class Wake { kNotified, kTimeout, kKilled };

struct Waiter {
  Waiter();  // for the calling task; fatal outside a world
  TaskBase* const task;
  std::atomic<bool> notified{false};  // set by Notify(), under the list's lock
  bool linked = false;
  Waiter* prev = nullptr;
  Waiter* next = nullptr;
};

// An intrusive FIFO of Waiters. Not thread-safe: guard it.
class WaitList {
 public:
  bool empty() const { return head_ == nullptr; }
  void PushBack(Waiter* w);
  Waiter* PopFront();  // nullptr if empty
  void Remove(Waiter* w);

 private:
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

// With `w` linked into `list` (and `lk`, the lock guarding it, held or not):
// waits until w is notified (kNotified), the deadline passes (kTimeout) or,
// if `interruptible`, the task is killed (kKilled). A notification wins over
// a timeout or a kill that comes at the same time.
// On kNotified, `lk` is NOT held (the primitive may be gone). On kTimeout and
// kKilled, `lk` is held and `w` has been unlinked. Returns with `lk` held. `reason` names the wait in
// deadlock and stuck-task reports ("CondVar.Wait").
Wake WaitOn(std::unique_lock<std::mutex>& lk, WaitList& list, Waiter& w,
            absl::Time deadline, const char* reason, bool interruptible);

class Runtime;

// Collects the tasks to wake; wakes them when destroyed.
class Wakeups {
 public:
  Wakeups() = default;
  ~Wakeups();
  Wakeups(const Wakeups&) = delete;
  Wakeups& operator=(const Wakeups&) = delete;

  // With the list's lock held: marks `w` (already unlinked) notified. Touches
  // nothing of the waiter's afterwards.
  void Notify(Waiter* w);
  // Pops and notifies the first waiter; returns whether there was one.
  bool NotifyFront(WaitList& list);

 private:
  struct Wake {
    Runtime* rt;
    void* handle;
  };
  Wake inline_[2];
  int n_inline_ = 0;
  std::vector<Wake> more_;
};

// True when the calling thread is running a task of a sim world.
bool InSim();

// A scheduling point at the start of runtime call `call` ("Chan.Send"): in
// sim, lets the scheduler run another task first; in both runtimes, throws
// TaskKilled if the calling task has been killed.
void SchedulingPoint(const char* call);

// Throws TaskKilled if the calling task has been killed (and is not already
// unwinding). For the end of a wait that succeeded: a killed task runs no
// more lab code after it.
void ThrowIfKilled();

// Prints "lab: <message>" and aborts: a broken rule of the lab API.
[[noreturn]] void Fatal(const std::string& message);

}  // namespace lab::internal

#endif  // LABRPC_RUNTIME_WAIT_LIST_H_
