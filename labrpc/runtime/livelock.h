// labrpc/runtime/livelock.h
//
// The sim scheduler's livelock watch. Internal to the runtime.
//
// In sim, virtual time moves when every task waits. Tasks that keep one
// another running (two tasks passing a message back and forth forever, a
// leader resending a rejected RPC at once, a loop on lab::Yield) never let
// that happen: the clock moves only when the scheduler forces it, by a
// little, and a test's time limit may never come. The watch notices a
// stretch of scheduling in which the tasks never all waited that has lasted
// WorldOptions::livelock_limit of real time, and describes it: the busiest
// tasks of the stretch and the runtime call each made last. Tasks of the
// same name and group count together (a livelock through RPCs starts a
// short task per call).
//
//   LivelockWatch watch(options.livelock_limit);
//   ...nothing runnable:      watch.Idle();
//   ...before running task t: if (watch.Dispatched(t->livelock, now)) report
//                             watch.Describe(tasks, now, epoch, seed)
//   ...task t ended:          watch.Finished(t->livelock, t->name, group)
//
// Used by the scheduler's thread only.

#ifndef LABRPC_RUNTIME_LIVELOCK_H_
#define LABRPC_RUNTIME_LIVELOCK_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace lab::internal {

// What the watch keeps per task (a field of the scheduler's task).
struct LivelockStats {
  uint64_t stretch = 0;     // the stretch `dispatches` counts in
  uint64_t dispatches = 0;  // times the task ran in that stretch
  // The runtime call the task made last ("Chan.Recv", "lab::Yield", ...).
  const char* last_call = "(not started)";
};

class LivelockWatch {
 public:
  explicit LivelockWatch(absl::Duration limit);

  // Every task waits: the current stretch, if any, ends.
  void Idle() { in_stretch_ = false; }

  // `task` is about to run at virtual time `now`. True once the current
  // stretch has lasted the limit of real time and counts at least
  // kMinDispatches task switches (slow dispatches on a loaded machine are
  // no livelock).
  bool Dispatched(LivelockStats& task, absl::Time now);

  // A task ended; its figures count on in the report.
  void Finished(const LivelockStats& task, const std::string& name, const std::string& group);

  struct Task {
    uint64_t id;
    const std::string* name;
    const std::string* group;
    const LivelockStats* stats;
  };
  // The report on the current stretch: how long, virtual time then and now,
  // and the busiest of `tasks`. One line per task, ending in a newline.
  std::string Describe(std::vector<Task> tasks, absl::Time now, absl::Time epoch,
                       uint64_t seed) const;

 private:
  using Clock = std::chrono::steady_clock;
  // Real time is read once per this many dispatches.
  static constexpr uint64_t kClockEvery = 64;
  // The busiest stretches of the reference's suites count ~15 000 (Raft2C's
  // ReliableChurn: many clients starting commands at one instant); a
  // livelock counts millions.
  static constexpr uint64_t kMinDispatches = 100'000;
  // Ended tasks are counted from this many task switches into a stretch.
  static constexpr uint64_t kCountEndedFrom = 10'000;

  const Clock::duration limit_;
  bool in_stretch_ = false;
  uint64_t stretch_ = 0;  // numbers the stretches
  uint64_t dispatches_ = 0;  // in the current stretch
  Clock::time_point started_;
  absl::Time started_virtual_;

  // Tasks of one name and group, for the report.
  struct Kind {
    uint64_t tasks = 0;
    uint64_t dispatches = 0;
    uint64_t first_id = 0;  // of a live task, for a kind of one
    std::map<std::string, uint64_t> last_calls;
  };
  // Tasks that ended in the current stretch, by (group, name). Kept only
  // once the stretch is long (kCountEndedFrom), so that ordinary runs pay
  // nothing.
  std::map<std::pair<std::string, std::string>, Kind> ended_;
  uint64_t ended_stretch_ = 0;  // the stretch ended_ is about
};

}  // namespace lab::internal

#endif  // LABRPC_RUNTIME_LIVELOCK_H_
