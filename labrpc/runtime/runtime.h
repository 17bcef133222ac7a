// labrpc/runtime/runtime.h
//
// The lab runtime: the only way lab code starts tasks, sleeps, reads the clock
// or draws random numbers. The same code runs under either of two runtimes,
// chosen per lab::World (see world.h):
//
//   threads  one OS thread per task, the wall clock.
//   sim      fibers on one OS thread, picked by a seeded scheduler; a virtual
//            clock that jumps to the next timer when every task is blocked.
//            A seed fixes the whole run.
//
//   lab::Go("ticker", [this] {
//     while (true) {
//       lab::SleepFor(absl::Milliseconds(lab::RandInt(300, 600)));
//       ...
//     }
//   });
//
// Every call here must be made from a task of a running lab::World (the
// world's main function is a task too). A task whose group was killed gets a
// lab::TaskKilled exception from its next blocking call (sleep, lock, wait,
// send, receive, yield); let it propagate: the runtime catches it where the
// task started.

#ifndef LABRPC_RUNTIME_RUNTIME_H_
#define LABRPC_RUNTIME_RUNTIME_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace lab {

enum class RuntimeKind { kThreads, kSim };

// "threads" or "sim".
std::string_view RuntimeName(RuntimeKind kind);

// Thrown out of a blocking runtime call in a task that has been killed (its
// TaskGroup was killed, or its World is shutting down). Deliberately not a
// std::exception, so `catch (const std::exception&)` does not swallow it.
struct TaskKilled {};

// Starts `fn` as a new task named `name` (names appear in deadlock and
// stuck-task reports). The task joins the current task's group, or the group
// of an active TaskGroup::Scope. Like a goroutine: returns at once.
void Go(std::string name, std::function<void()> fn);

// Blocks the calling task for `d` (runtime time). d <= 0 just yields.
void SleepFor(absl::Duration d);
void SleepUntil(absl::Time t);

// The runtime's clock: wall time in threads, virtual time in sim.
absl::Time Now();

// A uniformly random integer in [lo, hi). Requires lo < hi. In sim, the
// sequence is fixed by the world's seed.
int64_t RandInt(int64_t lo, int64_t hi);

// A random 64-bit value from the world's engine.
uint64_t RandUint64();

// Gives other tasks a chance to run.
void Yield();

// True if the calling task has been killed (its next blocking call throws).
bool Killed();

// The calling task's name.
std::string_view CurrentTaskName();

// The runtime the calling task runs under.
RuntimeKind CurrentRuntime();

// A digest of the schedule so far: in sim, a hash of every (time, task,
// event) the scheduler recorded; two runs with one seed give the same value.
// Always 0 in threads, where schedules are not reproducible.
uint64_t ScheduleFingerprint();

}  // namespace lab

#endif  // LABRPC_RUNTIME_RUNTIME_H_
