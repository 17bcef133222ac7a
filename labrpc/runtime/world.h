// labrpc/runtime/world.h
//
// A World is one run of the lab runtime: it owns every task started in it,
// its clock and its random engine.
//
//   lab::World world(lab::WorldOptions::FromEnv());   // LAB_RUNTIME, LAB_SEED
//   absl::Status s = world.Run([] {
//     lab::Chan<int> ch;
//     lab::Go("producer", [&] { ch.Send(42); });
//     int v = *ch.Recv();
//   });
//
// Run() executes `main` as the task "main". When `main` returns, every task
// still running is killed (see TaskKilled) and waited for; Run() then
// returns. So tasks must not use objects that `main` destroys before they
// end: stop them first (a TaskGroup does that for its tasks).
//
// Failures Run() reports:
//   sim      every task blocked and no timer pending (a deadlock): Run()
//            returns an error naming each blocked task and what it waits on.
//            A task that runs longer than options.busy_limit of CPU time
//            without a runtime call (a busy loop) cannot be preempted: the
//            process prints the task's name and seed and exits with code 3
//            (also after six times busy_limit of real time without one, as
//            when blocked in a system call).
//   sim      tasks that keep one another running for options.livelock_limit
//            of real time without ever all waiting, so that virtual time
//            stands still (a livelock): Run() kills every task and returns
//            an error naming the busiest tasks, the runtime call each made
//            last, and the seed.
//   both     a task still running options.shutdown_grace after it was
//            killed at shutdown: the process prints the names of the stuck
//            tasks and exits with code 3 (in threads the task cannot be
//            stopped, and freeing what it uses would crash later).
//   both     an exception other than TaskKilled escaping a task prints the
//            task's name and aborts, as a panic would in Go.

#ifndef LABRPC_RUNTIME_WORLD_H_
#define LABRPC_RUNTIME_WORLD_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "labrpc/runtime/runtime.h"

namespace lab {

// The exit code of a process stopped by the runtime for a stuck or busy task.
inline constexpr int kStuckTaskExitCode = 3;

struct WorldOptions {
  RuntimeKind runtime = RuntimeKind::kThreads;
  // Seeds the random engine (and in sim, the scheduler).
  uint64_t seed = 1;
  // How long shutdown waits for killed tasks to end.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // sim: CPU time a task may run without a runtime call before it is
  // reported as a busy loop (CPU time, so a loaded machine, which slows the
  // task down, does not make it one).
  absl::Duration busy_limit = absl::Seconds(10);
  // sim: real time tasks may keep one another running without ever all
  // waiting (virtual time stands still) before Run() stops them as a
  // livelock.
  absl::Duration livelock_limit = absl::Seconds(20);
  // sim: stack size of each task.
  size_t stack_size = 256 * 1024;
  // Print a line "lab: runtime=... seed=..." when Run() starts.
  bool announce = true;

  // Reads LAB_RUNTIME (threads|sim; default threads) and LAB_SEED (a decimal
  // number; default: a fresh random seed). Returns an error that says what
  // was wrong for a bad value.
  static absl::StatusOr<WorldOptions> FromEnv();
  // FromEnv(), or prints the error and exits with code 2.
  static WorldOptions FromEnvOrDie();
};

// Parses "threads" or "sim".
absl::StatusOr<RuntimeKind> ParseRuntimeKind(std::string_view name);

namespace internal {
class Runtime;
}

class World {
 public:
  explicit World(WorldOptions options);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Runs `main` as task "main" and everything it starts, then shuts down.
  // May be called once.
  absl::Status Run(std::function<void()> main);

  const WorldOptions& options() const { return options_; }

  // The schedule fingerprint at the end of Run() (0 in threads).
  uint64_t fingerprint() const { return fingerprint_; }

  // Runtime time when Run() returned, minus when it started.
  absl::Duration elapsed() const { return elapsed_; }

 private:
  WorldOptions options_;
  std::unique_ptr<internal::Runtime> runtime_;
  bool ran_ = false;
  uint64_t fingerprint_ = 0;
  absl::Duration elapsed_;
};

}  // namespace lab

#endif  // LABRPC_RUNTIME_WORLD_H_
