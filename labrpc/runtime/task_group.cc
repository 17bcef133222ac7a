// labrpc/runtime/task_group.cc

#include "labrpc/runtime/task_group.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "labrpc/runtime/internal.h"
#include "labrpc/runtime/race.h"
#include "labrpc/runtime/world.h"

namespace lab {

using internal::CurrentTaskOrDie;
using internal::TaskBase;

TaskGroup::TaskGroup(std::string name)
    : group_(CurrentTaskOrDie("lab::TaskGroup")->rt->NewGroup(std::move(name))) {}

TaskGroup::~TaskGroup() {
  TaskBase* self = internal::CurrentTask();
  if (self == nullptr || self->rt != group_->rt) {
    internal::Fatal(absl::StrCat("lab::TaskGroup \"", group_->name,
                                 "\" destroyed outside a task of its world"));
  }
  Kill();
  const absl::Duration grace = group_->rt->options().shutdown_grace;
  if (!Join(grace)) {
    std::fprintf(stderr,
                 "lab: task group \"%s\": tasks still running %s after it was killed "
                 "(a task that never makes a runtime call cannot be stopped):\n",
                 group_->name.c_str(), absl::FormatDuration(grace).c_str());
    std::lock_guard<std::mutex> l(group_->mu);
    for (auto& [id, task] : group_->tasks) {
      const char* blocked = task->blocked_in.load();
      std::fprintf(stderr, "  task %llu \"%s\": %s%s\n", static_cast<unsigned long long>(id),
                   task->name.c_str(), blocked ? "blocked in " : "running",
                   blocked ? blocked : "");
    }
    std::fflush(stderr);
    std::_Exit(kStuckTaskExitCode);
  }
}

void TaskGroup::Go(std::string name, std::function<void()> fn) {
  group_->rt->Spawn(group_, std::move(name), std::move(fn));
}

void TaskGroup::Handle::Go(std::string name, std::function<void()> fn) const {
  // Spawn starts nothing in a killed group (and the destructor kills it).
  if (group_ != nullptr) group_->rt->Spawn(group_, std::move(name), std::move(fn));
}

void TaskGroup::Kill() { group_->rt->KillGroup(*group_); }

bool TaskGroup::Join(absl::Duration timeout) {
  TaskBase* self = CurrentTaskOrDie("lab::TaskGroup::Join");
  if (self->group == group_) {
    internal::Fatal(absl::StrCat("lab::TaskGroup::Join on group \"", group_->name,
                                 "\" from one of its own tasks would wait forever"));
  }
  internal::race::Section section;
  const absl::Time deadline = group_->rt->Now() + timeout;
  std::unique_lock<std::mutex> lk(group_->mu);
  while (!group_->tasks.empty()) {
    internal::Waiter w;
    group_->joiners.PushBack(&w);
    if (internal::WaitOn(lk, group_->joiners, w, deadline, "TaskGroup.Join",
                         /*interruptible=*/false) == internal::Wake::kTimeout) {
      if (!group_->tasks.empty()) return false;
      break;
    }
    lk.lock();  // notified; the group is shared, so it is still here
  }
  // The end of every task of the group happens before a Join that saw them
  // all end (the tasks release the group as they end; see sim_runtime.cc).
  internal::race::Acquire(group_.get());
  return true;
}

int TaskGroup::live() const {
  internal::race::Section section;
  std::lock_guard<std::mutex> l(group_->mu);
  return static_cast<int>(group_->tasks.size());
}

bool TaskGroup::killed() const {
  internal::race::Section section;
  std::lock_guard<std::mutex> l(group_->mu);
  return group_->killed;
}

const std::string& TaskGroup::name() const { return group_->name; }

TaskGroup::Scope::Scope(TaskGroup& group) : task_(CurrentTaskOrDie("lab::TaskGroup::Scope")) {
  saved_ = task_->spawn_group;
  task_->spawn_group = group.group_;
}

TaskGroup::Scope::~Scope() { task_->spawn_group = std::move(saved_); }

}  // namespace lab
