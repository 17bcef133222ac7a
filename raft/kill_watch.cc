// raft/kill_watch.cc
//
// Kill as in Go; see kill_watch.h. Framework, not student code.

#include "raft/kill_watch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/race.h"
#include "raft/raft.h"

namespace raft {
namespace {

int Factor() {
  // (race.h is the runtime's, but says what the tester needs: a TSan build.)
  const bool threads = lab::CurrentRuntime() == lab::RuntimeKind::kThreads;
  return lab::internal::race::kEnabled && threads ? kRaceThreadsFactor : 1;
}

}  // namespace

absl::Duration KillGrace() { return kKillGrace * Factor(); }
absl::Duration InFlightAllowance() { return kInFlightAllowance * Factor(); }

void KillWatch::Killed(absl::Time now) {
  TesterMutexLock l(&mu_);
  killed_ = true;
  killed_at_ = now;
}

bool KillWatch::killed() const {
  TesterMutexLock l(&mu_);
  return killed_;
}

std::string KillWatch::OnApply(int64_t index, absl::Time now) {
  TesterMutexLock l(&mu_);
  if (!killed_ || ++late_applies_ <= kInFlightApplies) return "";
  return absl::StrCat("delivered ApplyMsg ", late_applies_, " (index ", index, ") ",
                      absl::FormatDuration(now - killed_at_),
                      " after Kill() returned: a killed Raft must stop applying (at most ",
                      kInFlightApplies, " messages already on their way may arrive)");
}

std::string KillWatch::OnCall(std::string_view method, absl::Time now) {
  TesterMutexLock l(&mu_);
  if (!killed_ || now - killed_at_ <= in_flight_allowance_) return "";
  return absl::StrCat("sent ", std::string(method), " ", absl::FormatDuration(now - killed_at_),
                      " after Kill() returned: a killed Raft must stop sending RPCs");
}

std::shared_ptr<labrpc::Server> MakeKillSentinel(std::shared_ptr<KillWatch> watch,
                                                 std::function<void(const std::string&)> report) {
  auto svc = std::make_shared<labrpc::Service>("Raft");
  auto observe = [watch, report](const char* method) {
    std::string error = watch->OnCall(method, lab::Now());
    if (!error.empty()) report(error);
    // No reply: the call fails as if the server were gone. The runtime takes
    // TaskKilled as a normal end of the handler's task.
    throw lab::TaskKilled{};
  };
  svc->Register<RequestVoteArgs, RequestVoteReply>(
      "RequestVote", [observe](const RequestVoteArgs&, RequestVoteReply*) { observe("RequestVote"); });
  svc->Register<AppendEntriesArgs, AppendEntriesReply>(
      "AppendEntries",
      [observe](const AppendEntriesArgs&, AppendEntriesReply*) { observe("AppendEntries"); });
  svc->Register<InstallSnapshotArgs, InstallSnapshotReply>(
      "InstallSnapshot",
      [observe](const InstallSnapshotArgs&, InstallSnapshotReply*) { observe("InstallSnapshot"); });
  auto server = std::make_shared<labrpc::Server>();
  server->AddService(std::move(svc));
  return server;
}

}  // namespace raft
