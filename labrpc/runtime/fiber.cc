// labrpc/runtime/fiber.cc
//
// Fibers on Boost.Context's fcontext. See fiber.h.

#include "labrpc/runtime/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cxxabi.h>

#include <boost/context/detail/fcontext.hpp>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "labrpc/runtime/wait_list.h"

#include "labrpc/runtime/race.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAB_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LAB_ASAN 1
#endif

#ifdef LAB_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace lab::internal {
namespace ctx = boost::context::detail;

namespace {

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// Announces a switch to `to_bottom`/`to_size` to ASan; `exiting` when the
// current stack will never run again.
struct AsanSwitch {
  void* fake_stack = nullptr;
  void Start(bool exiting, const void* to_bottom, size_t to_size) {
#ifdef LAB_ASAN
    __sanitizer_start_switch_fiber(exiting ? nullptr : &fake_stack, to_bottom, to_size);
#else
    (void)exiting, (void)to_bottom, (void)to_size;
#endif
  }
  void Finish(const void** from_bottom = nullptr, size_t* from_size = nullptr) {
#ifdef LAB_ASAN
    __sanitizer_finish_switch_fiber(fake_stack, from_bottom, from_size);
#else
    (void)from_bottom, (void)from_size;
#endif
  }
};

// The layout of the Itanium C++ ABI's per-thread exception globals (libstdc++
// and libc++abi alike): the stack of exceptions being handled, and the count
// of exceptions thrown and not yet caught.
struct CxaEhGlobals {
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

CxaEhGlobals* EhGlobals() { return reinterpret_cast<CxaEhGlobals*>(abi::__cxa_get_globals()); }

}  // namespace

FiberScheduler::FiberScheduler() {
#ifdef LAB_TSAN
  sched_tsan_fiber_ = race::CurrentFiber();
#endif
}

FiberScheduler::~FiberScheduler() {
  for (auto& [base, bytes] : free_stacks_) munmap(base, bytes);
}

Fiber* FiberScheduler::Create(size_t stack_size, std::function<void()> fn, const char* name) {
  const size_t page = PageSize();
  const size_t usable = (stack_size + page - 1) / page * page;
  const size_t bytes = usable + page;  // + guard page
  void* base = nullptr;
  for (size_t i = 0; i < free_stacks_.size(); ++i) {
    if (free_stacks_[i].second == bytes) {
      base = free_stacks_[i].first;
      free_stacks_[i] = free_stacks_.back();
      free_stacks_.pop_back();
      break;
    }
  }
  if (base == nullptr) {
    base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
    if (base == MAP_FAILED) Fatal("out of memory for a task's stack (mmap failed)");
    if (mprotect(base, page, PROT_NONE) != 0) Fatal("mprotect of a stack guard page failed");
  }
  auto* f = new Fiber();
  f->sched_ = this;
  f->stack_base_ = base;
  f->stack_bytes_ = bytes;
  f->fn_ = std::move(fn);
  char* top = static_cast<char*>(base) + bytes;
  f->ctx_ = ctx::make_fcontext(top, usable, [](ctx::transfer_t t) {
    Entry(t.fctx, t.data);
  });
#ifdef LAB_TSAN
  f->tsan_fiber_ = race::CreateFiber();
  race::SetFiberName(f->tsan_fiber_, name);  // TSan copies it
#else
  (void)name;
#endif
  return f;
}

void FiberScheduler::Entry(void* from, void* arg) {
  auto* f = static_cast<Fiber*>(arg);
  FiberScheduler* s = f->sched_;
  {
    race::Section section(/*active=*/true);  // the scheduler's state
    s->sched_ctx_ = from;
    AsanSwitch asan;
    asan.Finish(&s->sched_stack_bottom_, &s->sched_stack_size_);
  }
  f->fn_();  // must not throw: the runtime catches everything inside
  AsanSwitch asan;
  {
    // Closed before the switch: TSan refuses a fiber that ends inside one.
    race::Section section(/*active=*/true);
    f->fn_ = nullptr;
    f->finished_ = true;
    asan.Start(/*exiting=*/true, s->sched_stack_bottom_, s->sched_stack_size_);
  }
#ifdef LAB_TSAN
  race::SwitchToFiber(s->sched_tsan_fiber_);
#endif
  ctx::jump_fcontext(s->sched_ctx_, nullptr);
  std::abort();  // a finished fiber is never resumed
}

void FiberScheduler::SwitchTo(Fiber* f) {
  running_ = f;
  // Give the fiber its own exception state, and keep ours.
  CxaEhGlobals* eh = EhGlobals();
  const CxaEhGlobals ours = *eh;
  eh->caught_exceptions = f->eh_caught_;
  eh->uncaught_exceptions = f->eh_uncaught_;
  AsanSwitch asan;
  asan.Start(/*exiting=*/false, static_cast<char*>(f->stack_base_) + PageSize(),
             f->stack_bytes_ - PageSize());
#ifdef LAB_TSAN
  const int sched_depth = race::ExchangeDepth(f->race_depth_);
  race::SwitchToFiber(f->tsan_fiber_);
#endif
  ctx::transfer_t t = ctx::jump_fcontext(f->ctx_, f);
#ifdef LAB_TSAN
  f->race_depth_ = race::ExchangeDepth(sched_depth);
#endif
  asan.Finish();
  eh = EhGlobals();
  f->eh_caught_ = eh->caught_exceptions;
  f->eh_uncaught_ = eh->uncaught_exceptions;
  *eh = ours;
  running_ = nullptr;
  if (!f->finished_) f->ctx_ = t.fctx;
}

void FiberScheduler::Suspend() {
  Fiber* f = running_;
  AsanSwitch asan;
  asan.Start(/*exiting=*/false, sched_stack_bottom_, sched_stack_size_);
#ifdef LAB_TSAN
  race::SwitchToFiber(sched_tsan_fiber_);
#endif
  ctx::transfer_t t = ctx::jump_fcontext(sched_ctx_, nullptr);
  sched_ctx_ = t.fctx;
  asan.Finish();
  (void)f;
}

void FiberScheduler::Destroy(Fiber* f) {
  if (!f->finished_) Fatal("destroying a fiber that has not finished");
#ifdef LAB_TSAN
  race::DestroyFiber(f->tsan_fiber_);
#endif
  FreeStack(f->stack_base_, f->stack_bytes_);
  delete f;
}

void FiberScheduler::FreeStack(void* base, size_t bytes) {
  // Under TSan a stack is never reused: TSan would take the new fiber's
  // writes for a race with the old one's (munmap forgets them).
  constexpr size_t kMaxPooledStacks = race::kEnabled ? 0 : 256;
  if (free_stacks_.size() < kMaxPooledStacks) {
    free_stacks_.emplace_back(base, bytes);
  } else {
    munmap(base, bytes);
  }
}

}  // namespace lab::internal
