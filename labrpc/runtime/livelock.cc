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

void LivelockWatch::Finished(const LivelockStats& task, const std::string& name,
                             const std::string& group) {
  if (!in_stretch_ || dispatches_ < kCountEndedFrom || task.stretch != stretch_) return;
  if (ended_stretch_ != stretch_) {
    ended_.clear();
    ended_stretch_ = stretch_;
  }
  Kind& kind = ended_[{group, name}];
  ++kind.tasks;
  kind.dispatches += task.dispatches;
  ++kind.last_calls[task.last_call];
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
  // The tasks that ran in this stretch, live or ended, by name and group.
  std::map<std::pair<std::string, std::string>, Kind> kinds;
  if (ended_stretch_ == stretch_) kinds = ended_;
  std::map<std::pair<std::string, std::string>, uint64_t> live;
  for (const Task& t : tasks) {
    if (t.stats->stretch != stretch_ || t.stats->dispatches == 0) continue;
    Kind& kind = kinds[{*t.group, *t.name}];
    if (live[{*t.group, *t.name}]++ == 0) kind.first_id = t.id;
    ++kind.tasks;
    kind.dispatches += t.stats->dispatches;
    ++kind.last_calls[t.stats->last_call];
  }
  std::vector<std::pair<const std::pair<std::string, std::string>*, const Kind*>> busiest;
  for (const auto& [key, kind] : kinds) busiest.push_back({&key, &kind});
  std::stable_sort(busiest.begin(), busiest.end(), [](const auto& a, const auto& b) {
    return a.second->dispatches > b.second->dispatches;
  });
  constexpr size_t kShown = 8;
  for (size_t i = 0; i < busiest.size() && i < kShown; ++i) {
    const auto& [group, name] = *busiest[i].first;
    const Kind& kind = *busiest[i].second;
    if (kind.tasks == 1 && kind.first_id != 0) {
      absl::StrAppend(&out, "  task ", kind.first_id, " \"", name, "\" (group ", group,
                      "): ran ", kind.dispatches, " times; last call ",
                      kind.last_calls.begin()->first, "\n");
      continue;
    }
    // Many tasks of one kind: their most frequent last calls.
    std::vector<std::pair<uint64_t, std::string>> calls;
    for (const auto& [call, n] : kind.last_calls) calls.push_back({n, call});
    std::stable_sort(calls.begin(), calls.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string last;
    for (size_t c = 0; c < calls.size() && c < 3; ++c) {
      absl::StrAppend(&last, c == 0 ? "" : ", ", calls[c].second, " (", calls[c].first, ")");
    }
    absl::StrAppend(&out, "  ", kind.tasks, kind.tasks == 1 ? " task \"" : " tasks \"", name,
                    "\" (group ", group, "): ran ",
                    kind.dispatches, " times in all; last calls ", last, "\n");
  }
  if (busiest.size() > kShown) {
    absl::StrAppend(&out, "  ... and ", busiest.size() - kShown, " more\n");
  }
  return out;
}

}  // namespace lab::internal
