// labrpc/runtime/wait_list.cc
//
// The blocking mechanism under every primitive, and the calling thread's
// current task. See wait_list.h.

#include "labrpc/runtime/wait_list.h"

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "labrpc/runtime/internal.h"
#include "labrpc/runtime/trace.h"

namespace lab::internal {
namespace {

thread_local TaskBase* tl_task = nullptr;
thread_local bool tl_in_sim = false;

}  // namespace

TaskBase* CurrentTask() { return tl_task; }

void SetCurrentTask(TaskBase* task) {
  tl_task = task;
  tl_in_sim = task != nullptr && task->in_sim;
}

TaskBase* CurrentTaskOrDie(const char* what) {
  if (tl_task == nullptr) {
    Fatal(std::string(what) +
          " called outside a lab::World task; run lab code inside "
          "lab::World::Run (or a task it started)");
  }
  return tl_task;
}

bool InSim() { return tl_in_sim; }

void ThrowIfKilled() {
  TaskBase* t = tl_task;
  if (t != nullptr && t->killed.load(std::memory_order_relaxed) && !MayNotThrow(t)) {
    throw TaskKilled();
  }
}

void SchedulingPoint(const char* call) {
  TaskBase* t = tl_task;
  if (t == nullptr) return;
  if (tl_in_sim) {
    t->rt->YieldIn(call);
  } else {
    ThrowIfKilled();
  }
}

void Fatal(const std::string& message) {
  if (tl_task != nullptr) {
    std::fprintf(stderr, "lab: %s (in task \"%s\", seed %llu)\n", message.c_str(),
                 tl_task->name.c_str(),
                 static_cast<unsigned long long>(tl_task->rt->options().seed));
  } else {
    std::fprintf(stderr, "lab: %s\n", message.c_str());
  }
  std::fflush(stderr);
  trace::RecordFatal(message);
  std::abort();
}

Waiter::Waiter() : task(CurrentTaskOrDie("a blocking lab call")) {}

void WaitList::PushBack(Waiter* w) {
  w->prev = tail_;
  w->next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = w;
  } else {
    head_ = w;
  }
  tail_ = w;
  w->linked = true;
}

Waiter* WaitList::PopFront() {
  Waiter* w = head_;
  if (w != nullptr) Remove(w);
  return w;
}

void WaitList::Remove(Waiter* w) {
  if (!w->linked) return;
  if (w->prev != nullptr) {
    w->prev->next = w->next;
  } else {
    head_ = w->next;
  }
  if (w->next != nullptr) {
    w->next->prev = w->prev;
  } else {
    tail_ = w->prev;
  }
  w->prev = w->next = nullptr;
  w->linked = false;
}

Wake WaitOn(std::unique_lock<std::mutex>& lk, WaitList& list, Waiter& w,
            absl::Time deadline, const char* reason, bool interruptible) {
  Runtime* rt = w.task->rt;
  while (true) {
    if (w.notified.load(std::memory_order_acquire)) {
      if (lk.owns_lock()) lk.unlock();
      return Wake::kNotified;
    }
    if (lk.owns_lock()) lk.unlock();
    Wake wake = rt->Park(deadline, reason, interruptible);
    if (w.notified.load(std::memory_order_acquire)) return Wake::kNotified;
    if (wake == Wake::kNotified) continue;  // spurious: a stale permit
    // Timed out or killed: unlink, unless a notification slips in first.
    lk.lock();
    if (w.notified.load(std::memory_order_acquire)) {
      lk.unlock();
      return Wake::kNotified;
    }
    list.Remove(&w);
    return wake;
  }
}

void Wakeups::Notify(Waiter* w) {
  // Read all we need first: once `notified` is set the waiter may return,
  // and its Waiter and its task may be gone.
  Wake wake{w->task->rt, w->task->wake_handle};
  w->notified.store(true, std::memory_order_release);
  if (n_inline_ < 2) {
    inline_[n_inline_++] = wake;
  } else {
    more_.push_back(wake);
  }
}

bool Wakeups::NotifyFront(WaitList& list) {
  Waiter* w = list.PopFront();
  if (w == nullptr) return false;
  Notify(w);
  return true;
}

Wakeups::~Wakeups() {
  for (int i = 0; i < n_inline_; ++i) inline_[i].rt->Unpark(inline_[i].handle);
  for (const Wake& w : more_) w.rt->Unpark(w.handle);
}

}  // namespace lab::internal
