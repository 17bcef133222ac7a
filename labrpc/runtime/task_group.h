// labrpc/runtime/task_group.h
//
// A TaskGroup owns a set of tasks that live and die together, such as one
// server's: the tester crashes a server by killing its group.
//
//   lab::TaskGroup server("server-1");
//   {
//     lab::TaskGroup::Scope scope(server);   // tasks started here join it,
//     raft = std::make_unique<Raft>(...);    // including Raft's own tickers
//   }
//   ...
//   server.Kill();   // crash: none of its tasks runs lab code again
//
// Kill() marks every task of the group; each gets lab::TaskKilled from its
// next blocking runtime call. In sim the victims never run again before they
// unwind ("at once"); in threads they stop at their next runtime call.
// Tasks started in a killed group never run. The destructor kills the group
// and waits for its tasks to end (up to the world's shutdown_grace; a task
// still running then is reported by name and the process exits, as in
// world.h).
//
// Thread safety: every method may be called from any task of the world.

#ifndef LABRPC_RUNTIME_TASK_GROUP_H_
#define LABRPC_RUNTIME_TASK_GROUP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"

namespace lab {

namespace internal {
struct Group;
struct TaskBase;
}

class TaskGroup {
 public:
  // Must be called from a task of a running World.
  explicit TaskGroup(std::string name);
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Starts a task in this group.
  void Go(std::string name, std::function<void()> fn);

  // Kills every task of the group; later Go() calls start nothing.
  void Kill();

  // Waits until every task of the group has ended, up to `timeout` of
  // runtime time. Returns false if some are still running. Does not kill.
  // Must not be called from a task of this group.
  bool Join(absl::Duration timeout);

  // Number of tasks of the group that have not ended.
  int live() const;
  bool killed() const;
  const std::string& name() const;

  // A copyable handle that may outlive the group: Go() through it starts a
  // task in the group while the group is alive and not killed, and nothing
  // afterwards (a destroyed group is killed). For whoever must start tasks in
  // a group it does not own, such as the network starting a server's RPC
  // handlers.
  class Handle {
   public:
    Handle() = default;
    // Starts nothing if the group was killed or destroyed, or if the handle
    // is empty (default-constructed).
    void Go(std::string name, std::function<void()> fn) const;
    explicit operator bool() const { return group_ != nullptr; }

   private:
    friend class TaskGroup;
    explicit Handle(std::shared_ptr<internal::Group> group) : group_(std::move(group)) {}
    std::shared_ptr<internal::Group> group_;
  };
  Handle handle() const { return Handle(group_); }

  // While a Scope lives, lab::Go from the task that made it starts tasks in
  // `group`. Scopes nest.
  class Scope {
   public:
    explicit Scope(TaskGroup& group);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    internal::TaskBase* task_;
    std::shared_ptr<internal::Group> saved_;
  };

 private:
  std::shared_ptr<internal::Group> group_;
};

}  // namespace lab

#endif  // LABRPC_RUNTIME_TASK_GROUP_H_
