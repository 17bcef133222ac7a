// labrpc/runtime/api.cc
//
// The free functions of runtime.h: each finds the calling task's runtime.

#include <string>

#include "labrpc/runtime/internal.h"
#include "labrpc/runtime/runtime.h"

namespace lab {

using internal::CurrentTaskOrDie;
using internal::TaskBase;
using internal::Wake;

std::string_view RuntimeName(RuntimeKind kind) {
  return kind == RuntimeKind::kSim ? "sim" : "threads";
}

void Go(std::string name, std::function<void()> fn) {
  TaskBase* t = CurrentTaskOrDie("lab::Go");
  std::shared_ptr<internal::Group> group = t->spawn_group ? t->spawn_group : t->group;
  t->rt->Spawn(std::move(group), std::move(name), std::move(fn));
}

void SleepFor(absl::Duration d) {
  TaskBase* t = CurrentTaskOrDie("lab::SleepFor");
  SleepUntil(t->rt->Now() + d);
}

void SleepUntil(absl::Time deadline) {
  TaskBase* t = CurrentTaskOrDie("lab::SleepUntil");
  if (deadline <= t->rt->Now()) {
    t->rt->Yield();
    return;
  }
  while (true) {
    Wake wake = t->rt->Park(deadline, "SleepFor", /*interruptible=*/true);
    if (wake == Wake::kKilled) throw TaskKilled();
    if (wake == Wake::kTimeout || t->rt->Now() >= deadline) return;
  }
}

absl::Time Now() { return CurrentTaskOrDie("lab::Now")->rt->Now(); }

uint64_t RandUint64() { return CurrentTaskOrDie("lab::RandUint64")->rt->RandUint64(); }

int64_t RandInt(int64_t lo, int64_t hi) {
  TaskBase* t = CurrentTaskOrDie("lab::RandInt");
  if (lo >= hi) {
    internal::Fatal("lab::RandInt(" + std::to_string(lo) + ", " + std::to_string(hi) +
                    "): needs lo < hi (the range is [lo, hi))");
  }
  // Our own mapping (not std::uniform_int_distribution, which differs across
  // standard libraries): rejection sampling, unbiased.
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % range);
  uint64_t r;
  do {
    r = t->rt->RandUint64();
  } while (r >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + r % range);
}

void Yield() { CurrentTaskOrDie("lab::Yield")->rt->Yield(); }

bool Killed() { return CurrentTaskOrDie("lab::Killed")->killed.load(); }

std::string_view CurrentTaskName() { return CurrentTaskOrDie("lab::CurrentTaskName")->name; }

RuntimeKind CurrentRuntime() { return CurrentTaskOrDie("lab::CurrentRuntime")->rt->kind(); }

uint64_t ScheduleFingerprint() {
  return CurrentTaskOrDie("lab::ScheduleFingerprint")->rt->Fingerprint();
}

}  // namespace lab
