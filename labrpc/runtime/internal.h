// labrpc/runtime/internal.h
//
// Internal to the runtime: what the two implementations (sim_runtime.cc,
// thread_runtime.cc) share, and the interface the public API calls through.
// Lab code never includes this.

#ifndef LABRPC_RUNTIME_INTERNAL_H_
#define LABRPC_RUNTIME_INTERNAL_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "labrpc/runtime/runtime.h"
#include "labrpc/runtime/wait_list.h"
#include "labrpc/runtime/world.h"

namespace lab::internal {

class Runtime;
struct Group;

// One task. The runtime that made it owns it; it is freed after the task
// ends and has left its group.
struct TaskBase {
  TaskBase(Runtime* rt, uint64_t id, std::string name, std::shared_ptr<Group> group);
  virtual ~TaskBase() = default;

  Runtime* const rt;
  const bool in_sim;  // rt->kind() == kSim, cached for the hot paths
  const uint64_t id;  // 1, 2, ... in start order, per world
  const std::string name;
  const std::shared_ptr<Group> group;

  // Where lab::Go puts new tasks; null means `group`. Touched only by the
  // task itself (TaskGroup::Scope).
  std::shared_ptr<Group> spawn_group;

  std::atomic<bool> killed{false};
  // Set once the task's function has returned, while its captures are
  // destroyed: from then on nothing throws TaskKilled.
  bool exiting = false;
  // What Unpark() wakes. It outlives the task (in threads it is the parker
  // of the task's OS thread), so a waker may use it after the woken task has
  // returned from its wait and ended. Set by the runtime at start.
  void* wake_handle = nullptr;
  // Whom the task acts for in traces, if not its group (trace::ActorScope).
  // Touched only by the task itself.
  std::string trace_actor;
  // What the task is blocked in, for reports; null while it runs.
  std::atomic<const char*> blocked_in{nullptr};
};

// The shared state of a TaskGroup (and of a world's root group).
struct Group {
  Group(Runtime* rt, std::string name) : rt(rt), name(std::move(name)) {}
  Runtime* const rt;
  const std::string name;

  std::mutex mu;
  bool killed = false;                       // guarded by mu
  std::map<uint64_t, TaskBase*> tasks;       // by id, so iteration is deterministic
  WaitList joiners;                          // guarded by mu; woken when tasks empties
};

// The calling thread's task and runtime (null outside a world).
TaskBase* CurrentTask();
void SetCurrentTask(TaskBase* task);
// The calling task, or Fatal naming `what` as the call made outside a world.
TaskBase* CurrentTaskOrDie(const char* what);


class Runtime {
 public:
  explicit Runtime(const WorldOptions& options);
  virtual ~Runtime() = default;

  virtual RuntimeKind kind() const = 0;
  const WorldOptions& options() const { return options_; }

  // Runs `main` as a task and everything it starts; returns after shutdown.
  virtual absl::Status Run(std::function<void()> main) = 0;

  // Starts a task in `group` (which is not killed; its lock is not held).
  virtual void Spawn(std::shared_ptr<Group> group, std::string name,
                     std::function<void()> fn) = 0;
  virtual absl::Time Now() = 0;
  // Sim: lets other tasks run. Both: throws TaskKilled if killed.
  virtual void Yield() = 0;
  // Yield() at the start of runtime call `call` (for reports).
  virtual void YieldIn(const char* call) {
    (void)call;
    Yield();
  }
  // Blocks the calling task until Unpark(), the deadline, or (interruptible)
  // a kill. May return kNotified spuriously: callers re-check their state.
  virtual Wake Park(absl::Time deadline, const char* reason, bool interruptible) = 0;
  // Wakes the task whose wake_handle this is, or makes its next Park()
  // return at once.
  virtual void Unpark(void* wake_handle) = 0;
  // Marks `task` killed and wakes it if it is in an interruptible wait.
  virtual void Kill(TaskBase* task) = 0;
  virtual uint64_t Fingerprint() const = 0;

  uint64_t RandUint64();
  std::shared_ptr<Group> root_group() const { return root_; }

  // Now() when World::Run started (what log lines and traces count from).
  absl::Time start_time;

  // Kills every task in `group`; marks it killed.
  void KillGroup(Group& group);
  // Removes a finished task from its group, waking joiners if it was the
  // last. Called by the implementations when a task's function returns.
  void LeaveGroup(TaskBase* task);

  // The groups ever made in this world (for shutdown).
  std::shared_ptr<Group> NewGroup(std::string name);
  void KillAllGroups();

 protected:
  // A line per task still alive: `  task 7 "name" (group g): blocked in X`.
  std::string DescribeTasks();

  const WorldOptions options_;
  std::shared_ptr<Group> root_;

 private:
  std::mutex rng_mu_;
  std::mt19937_64 rng_;  // seeded once from options().seed
  std::mutex groups_mu_;
  std::vector<std::weak_ptr<Group>> groups_;
};

// True while TaskKilled must not be thrown in `t`: during unwinding, and
// while the task's captures are destroyed after its function returned.
inline bool MayNotThrow(const TaskBase* t) {
  return t->exiting || std::uncaught_exceptions() > 0;
}

std::unique_ptr<Runtime> NewSimRuntime(const WorldOptions& options);
std::unique_ptr<Runtime> NewThreadRuntime(const WorldOptions& options);

// Runs a task's function, catching TaskKilled; any other exception prints the
// task's name and aborts.
void RunTaskBody(TaskBase* task, const std::function<void()>& fn);

}  // namespace lab::internal

#endif  // LABRPC_RUNTIME_INTERNAL_H_
