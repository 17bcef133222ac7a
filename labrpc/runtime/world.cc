// labrpc/runtime/world.cc
//
// World, its options, and what both runtime implementations share: the
// random engine, groups, kill and shutdown bookkeeping.

#include "labrpc/runtime/world.h"

#include <cstdio>
#include <cstdlib>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "labrpc/runtime/internal.h"
#include "labrpc/runtime/log.h"
#include "labrpc/runtime/race.h"

namespace lab {

absl::StatusOr<RuntimeKind> ParseRuntimeKind(std::string_view name) {
  if (name == "threads") return RuntimeKind::kThreads;
  if (name == "sim") return RuntimeKind::kSim;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown runtime \"", std::string(name), "\": use \"threads\" or \"sim\""));
}

absl::StatusOr<WorldOptions> WorldOptions::FromEnv() {
  WorldOptions options;
  if (const char* runtime = std::getenv("LAB_RUNTIME"); runtime != nullptr && *runtime) {
    absl::StatusOr<RuntimeKind> kind = ParseRuntimeKind(runtime);
    if (!kind.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("LAB_RUNTIME: ", kind.status().message()));
    }
    options.runtime = *kind;
  }
  if (absl::Status log = CheckLogEnv(); !log.ok()) return log;
  if (const char* seed = std::getenv("LAB_SEED"); seed != nullptr && *seed) {
    if (!absl::SimpleAtoi(seed, &options.seed)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "LAB_SEED=\"", seed, "\" is not a seed: use a decimal number such as LAB_SEED=42"));
    }
  } else {
    std::random_device entropy;
    options.seed = (static_cast<uint64_t>(entropy()) << 32 | entropy()) % 1000000000;
  }
  return options;
}

WorldOptions WorldOptions::FromEnvOrDie() {
  absl::StatusOr<WorldOptions> options = FromEnv();
  if (!options.ok()) {
    std::fprintf(stderr, "lab: %s\n", std::string(options.status().message()).c_str());
    std::exit(2);
  }
  return *options;
}

World::World(WorldOptions options) : options_(options) {
  runtime_ = options_.runtime == RuntimeKind::kSim ? internal::NewSimRuntime(options_)
                                                    : internal::NewThreadRuntime(options_);
}

World::~World() = default;

absl::Status World::Run(std::function<void()> main) {
  if (ran_) return absl::FailedPreconditionError("lab::World::Run may be called once");
  if (internal::CurrentTask() != nullptr) {
    return absl::FailedPreconditionError("lab::World::Run called from inside a world's task");
  }
  ran_ = true;
  if (options_.announce) {
    std::printf("lab: runtime=%s seed=%llu (replay: LAB_RUNTIME=%s LAB_SEED=%llu)\n",
                std::string(RuntimeName(options_.runtime)).c_str(),
                static_cast<unsigned long long>(options_.seed),
                std::string(RuntimeName(options_.runtime)).c_str(),
                static_cast<unsigned long long>(options_.seed));
    std::fflush(stdout);
  }
  const absl::Time start = runtime_->Now();
  runtime_->start_time = start;
  absl::Status status = runtime_->Run(std::move(main));
  elapsed_ = runtime_->Now() - start;
  fingerprint_ = runtime_->Fingerprint();
  return status;
}

namespace internal {

TaskBase::TaskBase(Runtime* rt, uint64_t id, std::string name, std::shared_ptr<Group> group)
    : rt(rt),
      in_sim(rt->kind() == RuntimeKind::kSim),
      id(id),
      name(std::move(name)),
      group(std::move(group)) {}

Runtime::Runtime(const WorldOptions& options)
    : options_(options), root_(std::make_shared<Group>(this, "main")), rng_(options.seed) {}

uint64_t Runtime::RandUint64() {
  race::Section section;
  std::lock_guard<std::mutex> l(rng_mu_);
  return rng_();
}

std::shared_ptr<Group> Runtime::NewGroup(std::string name) {
  race::Section section;
  auto group = std::make_shared<Group>(this, std::move(name));
  std::lock_guard<std::mutex> l(groups_mu_);
  groups_.push_back(group);
  return group;
}

void Runtime::KillGroup(Group& group) {
  race::Section section;
  std::lock_guard<std::mutex> l(group.mu);
  group.killed = true;
  for (auto& [id, task] : group.tasks) Kill(task);
}

void Runtime::KillAllGroups() {
  race::Section section;
  std::vector<std::shared_ptr<Group>> groups = {root_};
  {
    std::lock_guard<std::mutex> l(groups_mu_);
    for (auto& weak : groups_) {
      if (auto g = weak.lock()) groups.push_back(std::move(g));
    }
  }
  for (auto& g : groups) KillGroup(*g);
}

void Runtime::LeaveGroup(TaskBase* task) {
  race::Section section;
  Group& group = *task->group;
  Wakeups wake;  // wakes after the unlock
  std::lock_guard<std::mutex> l(group.mu);
  group.tasks.erase(task->id);
  if (group.tasks.empty()) {
    while (wake.NotifyFront(group.joiners)) {
    }
  }
}

std::string Runtime::DescribeTasks() {
  race::Section section;
  std::vector<std::shared_ptr<Group>> groups = {root_};
  {
    std::lock_guard<std::mutex> l(groups_mu_);
    for (auto& weak : groups_) {
      if (auto g = weak.lock()) groups.push_back(std::move(g));
    }
  }
  std::map<uint64_t, std::string> lines;
  for (auto& g : groups) {
    std::lock_guard<std::mutex> l(g->mu);
    for (auto& [id, task] : g->tasks) {
      const char* blocked = task->blocked_in.load();
      lines[id] = absl::StrCat("  task ", id, " \"", task->name, "\" (group ", g->name,
                               "): ", blocked ? absl::StrCat("blocked in ", blocked) : "running",
                               task->killed.load() ? ", killed" : "", "\n");
    }
  }
  std::string out;
  for (auto& [id, line] : lines) out += line;
  return out;
}

void RunTaskBody(TaskBase* task, const std::function<void()>& fn) {
  try {
    if (task->killed.load()) return;
    fn();
  } catch (const TaskKilled&) {
    // The normal end of a killed task.
  } catch (const std::exception& e) {
    Fatal(absl::StrCat("uncaught exception in task: ", e.what()));
  } catch (...) {
    Fatal("uncaught exception (not a std::exception) in task");
  }
}

}  // namespace internal
}  // namespace lab
