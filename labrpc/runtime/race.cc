// labrpc/runtime/race.cc
//
// ThreadSanitizer's annotation and fiber interfaces, for race.h. Compiled
// to nothing without TSan. The functions are declared here rather than taken
// from <sanitizer/tsan_interface.h>, whose contents vary across compiler
// versions; Debian's gcc-12 libtsan exports all of them.

#include "labrpc/runtime/race.h"

#ifdef LAB_TSAN

#include "labrpc/runtime/wait_list.h"

extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
void* __tsan_get_current_fiber(void);
void* __tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void* fiber);
void __tsan_switch_to_fiber(void* fiber, unsigned flags);
void __tsan_set_fiber_name(void* fiber, const char* name);
void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);
void AnnotateIgnoreSyncBegin(const char* file, int line);
void AnnotateIgnoreSyncEnd(const char* file, int line);
}

namespace lab::internal::race {
namespace {

// __tsan_switch_to_fiber's flag: the switch does not synchronize.
constexpr unsigned kSwitchNoSync = 1;

// The running fiber's Section depth (swapped per fiber by ExchangeDepth).
// Shared by every fiber of the thread: only touched by the functions below,
// which TSan does not instrument.
thread_local int tl_depth = 0;

#define LAB_NOT_INSTRUMENTED __attribute__((no_sanitize("thread")))

}  // namespace

// TSan's Release/Acquire do nothing while synchronization is ignored, so
// inside a Section they lift the ignore for the instant.
LAB_NOT_INSTRUMENTED void Release(const void* addr) {
  if (tl_depth > 0) AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
  __tsan_release(const_cast<void*>(addr));
  if (tl_depth > 0) AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
}

LAB_NOT_INSTRUMENTED void Acquire(const void* addr) {
  if (tl_depth > 0) AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
  __tsan_acquire(const_cast<void*>(addr));
  if (tl_depth > 0) AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
}

Section::Section() : Section(InSim()) {}

LAB_NOT_INSTRUMENTED Section::Section(bool active) : active_(active) {
  if (active_ && tl_depth++ == 0) {
    __tsan_ignore_thread_begin();
    AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
  }
}

LAB_NOT_INSTRUMENTED Section::~Section() {
  if (active_ && --tl_depth == 0) {
    AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
    __tsan_ignore_thread_end();
  }
}

LAB_NOT_INSTRUMENTED int ExchangeDepth(int depth) {
  int old = tl_depth;
  tl_depth = depth;
  return old;
}

void* CreateFiber() { return __tsan_create_fiber(0); }
void* CurrentFiber() { return __tsan_get_current_fiber(); }
void DestroyFiber(void* fiber) { __tsan_destroy_fiber(fiber); }
void SwitchToFiber(void* fiber) { __tsan_switch_to_fiber(fiber, kSwitchNoSync); }
void SetFiberName(void* fiber, const char* name) { __tsan_set_fiber_name(fiber, name); }

}  // namespace lab::internal::race

#endif  // LAB_TSAN
