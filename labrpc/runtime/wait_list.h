// labrpc/runtime/wait_list.h
//
// Internal to the runtime: the one blocking mechanism every primitive
// (Mutex, CondVar, Chan, TaskGroup::Join) is built on, in both runtimes.
//
// A primitive keeps its waiters in a WaitList guarded by its own std::mutex.
// A waiting task links a Waiter (on its stack) into the list, then WaitOn()
// parks the task until someone calls Notify() on that Waiter, the deadline
// passes, or the task is killed. Notify() is called with the list's lock
// held and unlinks the waiter.
//
// Once notified, a waiter never touches the primitive again (not even its
// lock): the notifier may destroy the primitive right after, as in
//   lab::Chan<int> done;  lab::Go("t", [&] { done.Send(1); });  done.Recv();
// and Notify() touches nothing of the waiter's after marking it notified.

#ifndef LABRPC_RUNTIME_WAIT_LIST_H_
#define LABRPC_RUNTIME_WAIT_LIST_H_

#include <atomic>
#include <mutex>
#include <string>

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

// Marks `w` (already unlinked) notified and wakes its task. The lock that
// guarded w's list must be held.
void Notify(Waiter* w);

// Pops and notifies the first waiter; returns it, or nullptr if none.
Waiter* NotifyFront(WaitList& list);

// True when the calling thread is running a task of a sim world.
bool InSim();

// A scheduling point: in sim, lets the scheduler run another task first; in
// both runtimes, throws TaskKilled if the calling task has been killed.
void SchedulingPoint();

// Throws TaskKilled if the calling task has been killed (and is not already
// unwinding). For the end of a wait that succeeded: a killed task runs no
// more lab code after it.
void ThrowIfKilled();

// Prints "lab: <message>" and aborts: a broken rule of the lab API.
[[noreturn]] void Fatal(const std::string& message);

}  // namespace lab::internal

#endif  // LABRPC_RUNTIME_WAIT_LIST_H_
