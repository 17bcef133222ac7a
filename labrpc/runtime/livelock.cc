// labrpc/runtime/livelock.cc

#include "labrpc/runtime/livelock.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace lab::internal {

LivelockWatch::LivelockWatch(absl::Duration limit)
    : limit_(std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(limit))) {}

bool LivelockWatch::Dispatched(LivelockStats& task, absl::Time now) {
  if (!in_stretch_) {
    in_stretch_ = true;
    ++stretch_;
    dispatches_ = 0;
    started_ = Clock::now();
    started_virtual_ = now;
  }
  if (task.stretch != stretch_) {
    task.stretch = stretch_;
    task.dispatches = 0;
  }
  ++task.dispatches;
  if (++dispatches_ % kClockEvery != 0 || dispatches_ < kMinDispatches) return false;
  return Clock::now() - started_ >= limit_;
}

std::string LivelockWatch::Describe(std::vector<Task> tasks, absl::Time now, absl::Time epoch,
                                    uint64_t seed) const {
  const absl::Duration real = absl::FromChrono(Clock::now() - started_);
  std::string out = absl::StrCat(
      "livelock at t=", absl::FormatDuration(now - epoch), " (seed ", seed, "): for ",
      absl::FormatDuration(absl::Trunc(real, absl::Milliseconds(100))),
      " of real time the tasks kept one another running and never all waited, so virtual time "
      "could not move on its own (it was t=",
      absl::FormatDuration(started_virtual_ - epoch), " when they started); ", dispatches_,
      " task switches. Tasks that wait for each other must sleep or block, not poll. "
      "The busiest tasks, with the runtime call each made last:\n");
  // Only the tasks that ran in this stretch, busiest first (by id on ties).
  tasks.erase(std::remove_if(tasks.begin(), tasks.end(),
                             [this](const Task& t) {
                               return t.stats->stretch != stretch_ || t.stats->dispatches == 0;
                             }),
              tasks.end());
  std::sort(tasks.begin(), tasks.end(), [](const Task& a, const Task& b) {
    if (a.stats->dispatches != b.stats->dispatches) {
      return a.stats->dispatches > b.stats->dispatches;
    }
    return a.id < b.id;
  });
  constexpr size_t kShown = 8;
  for (size_t i = 0; i < tasks.size() && i < kShown; ++i) {
    const Task& t = tasks[i];
    absl::StrAppend(&out, "  task ", t.id, " \"", *t.name, "\" (group ", *t.group, "): ran ",
                    t.stats->dispatches, " times; last call ", t.stats->last_call, "\n");
  }
  if (tasks.size() > kShown) {
    absl::StrAppend(&out, "  ... and ", tasks.size() - kShown, " more tasks\n");
  }
  return out;
}

}  // namespace lab::internal
