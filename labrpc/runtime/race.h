// labrpc/runtime/race.h
//
// Internal to the runtime: race detection that is deterministic in sim, under
// ThreadSanitizer (--config=tsan). Lab code never includes this.
//
// In sim every task is a fiber on one OS thread, announced to TSan as a fiber
// of its own, and a switch between fibers creates no happens-before (TSan's
// no-sync switch). So TSan sees the tasks as threads that never synchronize,
// except where the runtime says they do: each lab primitive calls Release()
// and Acquire() on itself exactly where its semantics promise an order
// (Mutex unlock -> lock, CondVar notify -> wake, Chan send -> receive, ...).
// Two tasks that touch the same memory without such an order are a race, and
// since the schedule is fixed by the seed, the same seed reports it every time.
//
// The runtime's own bookkeeping (run queues, wait lists, task records, the
// std::mutexes that guard them) is shared by every task and would look racy,
// or would order tasks through its locks. Runtime code therefore runs inside
// a Section, in which TSan ignores the memory accesses and the
// synchronization of the calling task (only in sim: in threads, TSan sees
// everything, as plain TSan does).
//
// Without TSan everything here is empty and inline: it costs nothing.

#ifndef LABRPC_RUNTIME_RACE_H_
#define LABRPC_RUNTIME_RACE_H_

#if defined(__SANITIZE_THREAD__)
#define LAB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LAB_TSAN 1
#endif
#endif

namespace lab::internal::race {

#ifdef LAB_TSAN

inline constexpr bool kEnabled = true;

// A happens-before edge from every Release(addr) so far to a later
// Acquire(addr). Work inside a Section too.
void Release(const void* addr);
void Acquire(const void* addr);

// The runtime's own code: while one lives in a sim task (or the sim
// scheduler, with active = true), TSan ignores the task's memory accesses
// and synchronization. Sections nest; a task may switch out inside one.
class Section {
 public:
  Section();
  explicit Section(bool active);
  ~Section();
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;

 private:
  const bool active_;
};

// The calling fiber's Section depth is per fiber: the fiber scheduler swaps
// it on every switch. Returns the old depth.
int ExchangeDepth(int depth);

// TSan's fiber API (exported by libtsan; not in every version's header).
void* CreateFiber();
void* CurrentFiber();
void DestroyFiber(void* fiber);
// Switches without synchronization: the point of deterministic detection.
void SwitchToFiber(void* fiber);
void SetFiberName(void* fiber, const char* name);

#else

inline constexpr bool kEnabled = false;
inline void Release(const void*) {}
inline void Acquire(const void*) {}
class Section {
 public:
  Section() {}
  explicit Section(bool) {}
  ~Section() {}
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;
};

#endif

}  // namespace lab::internal::race

#endif  // LABRPC_RUNTIME_RACE_H_
