// labrpc/runtime/fiber.h
//
// Internal to the sim runtime: a fiber is a function running on its own
// stack, switched to and from a scheduler on one OS thread.
//
// Built on Boost.Context's fcontext (make_fcontext/jump_fcontext, from
// Debian's libboost-context-dev): a switch is a few nanoseconds, where
// ucontext's swapcontext makes a system call each time (~250 ns here), and it
// is portable to every CPU Boost supports. Stacks are mmap'ed with a guard
// page below them (an overflow faults instead of corrupting a neighbour) and
// reused (except under TSan). Switches are announced to AddressSanitizer and
// ThreadSanitizer when either is on, so both work in sim; to TSan each fiber
// is a thread of its own, and a switch does not synchronize (see race.h).
// Each fiber has its own exception state (std::uncaught_exceptions(), the
// exceptions being handled), since a fiber may switch out in the middle of
// unwinding.
//
//   FiberScheduler sched;
//   Fiber* f = sched.Create(stack_size, [] { ...; FiberScheduler::Suspend(); ... }, "name");
//   sched.SwitchTo(f);   // returns when f suspends or finishes
//   if (f->finished()) sched.Destroy(f);

#ifndef LABRPC_RUNTIME_FIBER_H_
#define LABRPC_RUNTIME_FIBER_H_

#include <cstddef>
#include <functional>
#include <vector>

namespace lab::internal {

class FiberScheduler;

class Fiber {
 public:
  bool finished() const { return finished_; }

 private:
  friend class FiberScheduler;
  Fiber() = default;

  FiberScheduler* sched_ = nullptr;
  void* ctx_ = nullptr;  // fcontext_t of the suspended fiber
  void* stack_base_ = nullptr;  // the mapping, guard page first
  size_t stack_bytes_ = 0;      // the mapping's size
  std::function<void()> fn_;
  bool finished_ = false;
  // The C++ runtime's per-thread exception state (exceptions being caught,
  // count of exceptions in flight), which is really per fiber: saved here
  // while the fiber is switched out.
  void* eh_caught_ = nullptr;
  unsigned int eh_uncaught_ = 0;
  void* tsan_fiber_ = nullptr;
  int race_depth_ = 0;  // race::Section depth while switched out
};

class FiberScheduler {
 public:
  FiberScheduler();
  ~FiberScheduler();
  FiberScheduler(const FiberScheduler&) = delete;
  FiberScheduler& operator=(const FiberScheduler&) = delete;

  // `name` is for ThreadSanitizer's reports.
  Fiber* Create(size_t stack_size, std::function<void()> fn, const char* name);
  // From the scheduler's own stack: runs `f` until it suspends or finishes.
  void SwitchTo(Fiber* f);
  // From inside a fiber: back to the scheduler. Returns when resumed.
  void Suspend();
  // Frees a finished fiber (its stack goes back to the pool).
  void Destroy(Fiber* f);

 private:
  static void Entry(void* transfer_from, void* fiber);
  void FreeStack(void* base, size_t bytes);

  void* sched_ctx_ = nullptr;
  Fiber* running_ = nullptr;
  std::vector<std::pair<void*, size_t>> free_stacks_;
  // The scheduler's stack, for AddressSanitizer.
  const void* sched_stack_bottom_ = nullptr;
  size_t sched_stack_size_ = 0;
  void* sched_tsan_fiber_ = nullptr;
};

}  // namespace lab::internal

#endif  // LABRPC_RUNTIME_FIBER_H_
