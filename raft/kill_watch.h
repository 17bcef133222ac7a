// raft/kill_watch.h
//
// Kill as in Go (framework, not student code). When a tester crashes a
// server, it takes it out of the network at once, calls its Kill(), and then
// leaves the old instance running, watched, for kKillGrace of runtime time
// before it kills the instance's task group (raft::Tester::Retire). In Go
// the killed instance's goroutines keep running too, so a Raft that ignores
// Kill() is caught: here, by the tester's applier (which keeps reading the
// old apply channel) and by a sentinel server that the old instance's ends
// now point at.
//
//   auto watch = std::make_shared<KillWatch>();
//   ... the instance runs; its ends are pointed at MakeKillSentinel(watch, report) ...
//   instance.Kill();
//   watch->Killed(lab::Now());
//   ... the applier calls watch->OnApply for each message it still gets ...
//
// The rules, and the allowances a correct instance needs:
// - ApplyMsg: at most kInFlightApplies messages may still arrive after
//   Kill() returned. An applier that checks Kill before each send may be
//   blocked offering one message when Kill() is called, and the tester's
//   applier may hold one it has received but not yet looked at; anything
//   beyond these two was sent after the instance knew it was dead.
// - RPCs: a call that reaches the sentinel more than kInFlightAllowance after
//   Kill() returned fails. The allowance covers a call begun just before
//   Kill() returned (the network delays a request up to 26 ms) and, in the
//   threads runtime, a sender preempted between its last check of Kill and
//   the call on a loaded machine. It is short enough that a Raft that ignores
//   Kill() is still caught within the grace period: a leader heartbeats
//   several times a second, and a cut-off follower starts an election at
//   least every election timeout (under 800 ms, as the tester's one-second
//   leader elections need), so a second call comes by kInFlightAllowance +
//   800 ms < kKillGrace at the latest.
//
// Thread safety: every method may be called from any task. The state is
// guarded by a TesterMutex (tester_mutex.h), not a lab::Mutex: a watch is
// consulted on every message the applier gets, and a lab::Mutex would add a
// scheduling point there in the sim runtime, changing every run's schedule.

#ifndef RAFT_KILL_WATCH_H_
#define RAFT_KILL_WATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "labrpc/network.h"
#include "raft/tester_mutex.h"

namespace raft {

// How long a killed instance is watched before its tasks are killed.
inline constexpr absl::Duration kKillGrace = absl::Seconds(1);
// A call reaching the sentinel sooner than this after Kill() returned was
// (or may have been) begun before.
inline constexpr absl::Duration kInFlightAllowance = absl::Milliseconds(200);
// In the threads runtime under ThreadSanitizer (./grade --race) both are
// this many times longer. TSan slows every thread down, starting one most of
// all, so a sender that saw the instance alive just before Kill() returned
// can take more than kInFlightAllowance to reach the sentinel on a loaded
// machine (seen: 208 ms, the reference in Raft2C.ReliableChurn, with the
// RPC's task started just before Kill). In sim no sender is ever preempted.
inline constexpr int kRaceThreadsFactor = 5;
// kKillGrace and kInFlightAllowance for the calling task's runtime and build.
absl::Duration KillGrace();
absl::Duration InFlightAllowance();
// ApplyMsgs that may still arrive after Kill() returned (see above).
inline constexpr int kInFlightApplies = 2;

class KillWatch {
 public:
  explicit KillWatch(absl::Duration in_flight_allowance = kInFlightAllowance)
      : in_flight_allowance_(in_flight_allowance) {}

  // Kill() has returned, at `now`.
  void Killed(absl::Time now);
  bool killed() const;

  // The tester's applier got the ApplyMsg for `index` (a snapshot's index
  // for a snapshot) at `now`. Returns a violation message, or "" if allowed.
  std::string OnApply(int64_t index, absl::Time now);
  // The instance's call `method` reached the sentinel at `now`. Returns a
  // violation message, or "" if allowed (before Kill, or in flight).
  std::string OnCall(std::string_view method, absl::Time now);

 private:
  const absl::Duration in_flight_allowance_;
  mutable TesterMutex mu_;
  bool killed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time killed_at_ ABSL_GUARDED_BY(mu_);
  int late_applies_ ABSL_GUARDED_BY(mu_) = 0;
};

// A server standing in for the whole network as a killed Raft instance sees
// it: its ends point here during the grace period. Each Raft RPC that
// reaches it is reported to `watch`; a violation goes to `report` (which
// must not throw). No call gets a reply. Its handlers run in the network's
// own task group.
std::shared_ptr<labrpc::Server> MakeKillSentinel(std::shared_ptr<KillWatch> watch,
                                                 std::function<void(const std::string&)> report);

}  // namespace raft

#endif  // RAFT_KILL_WATCH_H_
