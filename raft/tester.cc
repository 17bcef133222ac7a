// raft/tester.cc
//
// What the Lab 2 and Lab 3 testers share; see tester.h. Framework, not
// student code.

#include "raft/tester.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/trace.h"
#include "raft/trace_hooks.h"

namespace raft {
namespace {

// After the watchdog fails a test, how long the test body gets to notice
// (at its next tester call) before the process gives up on it.
constexpr absl::Duration kWatchdogGrace = absl::Seconds(10);

// How to replay the current test; set by RunLabTest before the world runs.
std::string& ReplayHint() {
  static std::string* hint = new std::string;
  return *hint;
}

}  // namespace

// --- WaitGroup ----------------------------------------------------------------

void WaitGroup::Add(int n) {
  lab::MutexLock l(&mu_);
  count_ += n;
}

void WaitGroup::Done() {
  lab::MutexLock l(&mu_);
  if (--count_ <= 0) cv_.NotifyAll();
}

void WaitGroup::Wait() {
  lab::MutexLock l(&mu_);
  while (count_ > 0) cv_.Wait(&mu_);
}

// --- Set-up and teardown -------------------------------------------------------

Tester::Tester(int n, Style style)
    : n_(n),
      start_(lab::Now()),
      net_(std::make_unique<labrpc::Network>()),
      style_(style),
      tester_(std::make_unique<lab::TaskGroup>("tester")),
      t0_(start_) {
  lab::trace::SetPeers(style.prefix, n);
}

Tester::~Tester() = default;

void Tester::StartWatchdog() {
  // Enforce the time limit even on a test that hangs: fail it, and if it
  // still has not ended a little later, stop the process, as Go's test
  // timeout panics.
  tester_->Go("watchdog", [this] {
    lab::SleepUntil(start_ + kTestTimeLimit);
    RecordFailure(absl::StrCat("test took longer than ", absl::ToInt64Seconds(kTestTimeLimit),
                               " seconds"),
                  /*always=*/true);
    // The test body may be blocked in a call into a server whose lock one
    // of its tasks holds forever (say, while it sends on the apply channel):
    // kill every server's tasks, so that they unwind and let go, and the
    // body gets to its next tester call and stops.
    {
      lab::MutexLock l(&mu_);
      KillServersLocked();
      for (const Retiring& r : retiring_) r.group->Kill();
    }
    lab::SleepFor(kWatchdogGrace);
    std::fprintf(stderr,
                 "%s: the test is still running %s after its time limit; it hangs. "
                 "Stopping the process.\nreplay: %s\n",
                 style_.name, absl::FormatDuration(kWatchdogGrace).c_str(), ReplayHint().c_str());
    std::fflush(stdout);
    std::fflush(stderr);
    lab::trace::RecordFatal("the test still runs after its time limit: process stopped");
    std::_Exit(1);
  });
}

void Tester::StopTesterTasks() {
  tester_.reset();  // kills and waits (or reports the stuck tasks and exits)
  std::vector<int64_t> ids;
  {
    lab::MutexLock l(&mu_);
    for (const Retiring& r : retiring_) ids.push_back(r.id);
  }
  for (int64_t id : ids) EndGracePeriod(id, /*at_teardown=*/true);
}

// --- Kill as in Go -----------------------------------------------------------------

std::string Tester::AddSentinel(int i, const std::vector<std::string>& ends,
                                std::shared_ptr<KillWatch> watch) {
  std::string address;
  {
    lab::MutexLock l(&mu_);
    address = absl::StrCat(ServerName(i), "-killed#", ++retire_counter_);
  }
  const std::string who = absl::StrCat(style_.server, " ", i, "'s killed instance ");
  net_->AddServer(address, MakeKillSentinel(std::move(watch), [this, who](const std::string& e) {
                    RecordFailure(who + e);
                  }));
  for (const std::string& end : ends) {
    net_->Connect(end, address);
    net_->Enable(end, true);
  }
  return address;
}

int64_t Tester::AddRetiring(Retiring r) {
  lab::MutexLock l(&mu_);
  r.id = ++retire_counter_;
  retiring_.push_back(std::move(r));
  return retire_counter_;
}

void Tester::StartGracePeriod(int64_t id) {
  // A tester task, so the test goes on meanwhile.
  tester_->Go(absl::StrCat("grace period ", id), [this, id] {
    lab::SleepFor(KillGrace());
    EndGracePeriod(id, /*at_teardown=*/false);
  });
}

void Tester::EndGracePeriod(int64_t id, bool at_teardown) {
  std::optional<Retiring> r;
  {
    lab::MutexLock l(&mu_);
    for (auto it = retiring_.begin(); it != retiring_.end(); ++it) {
      if (it->id != id) continue;
      r = std::move(*it);
      retiring_.erase(it);
      break;
    }
  }
  if (!r.has_value()) return;  // ended already
  for (const std::string& end : r->ends) net_->Enable(end, false);
  net_->DeleteServer(r->sentinel);
  // Killed already: StopTasks kills its group and waits.
  if (StopTasks(*r->group, [] {}, r->instance)) return;
  if (at_teardown) {
    ReportStuckAtTeardown(r->server);
  } else {
    RecordFailure(StopFailure(r->server, " (a task that never blocks?)"));
  }
}

std::string Tester::ServerName(int i) const { return absl::StrCat(style_.prefix, i); }

bool Tester::StopTasks(lab::TaskGroup& group, absl::FunctionRef<void()> kill,
                       std::shared_ptr<void> server) {
  // Kill the group first: a task blocked while holding the service's lock
  // (on the apply channel, say) unwinds and releases it, so Kill() can
  // take it.
  group.Kill();
  {
    lab::TaskGroup::Scope scope(group);
    kill();
  }
  if (group.Join(kStopTimeout)) return true;  // destroyed with the last reference
  lab::MutexLock l(&mu_);
  zombies_.push_back(std::move(server));
  return false;
}

std::string Tester::StopFailure(int i, const char* what) const {
  return absl::StrCat(style_.server, " ", i, "'s tasks did not end within ",
                      absl::FormatDuration(kStopTimeout), " of being killed", what);
}

void Tester::ReportStuckAtTeardown(int i) const {
  ADD_FAILURE() << StopFailure(i, " at teardown");
}

// --- Failures and tasks -----------------------------------------------------------

void Tester::RecordFailure(const std::string& message, bool always, const char* file,
                           int line) {
  {
    lab::MutexLock l(&mu_);
    // Report only the first failure (Go's tester stops at it): later ones
    // are most often its consequences.
    if (failed_ && !always) return;
    failed_ = true;
  }
  tracing::Failure(message, file, line);
  ADD_FAILURE_AT(file, line) << message;
}

void Tester::Fail(const std::string& message, const char* file, int line) {
  RecordFailure(message, /*always=*/false, file, line);
  throw TestFailed{message};
}

bool Tester::failed() const {
  lab::MutexLock l(&mu_);
  return failed_;
}

void Tester::CheckFailed() const {
  if (failed()) throw TestFailed{"an earlier check failed"};
}

void Tester::Go(std::string name, std::function<void()> fn, WaitGroup* wg) {
  if (wg != nullptr) wg->Add(1);
  tester_->Go(std::move(name), [fn = std::move(fn), wg] {
    try {
      fn();
    } catch (const TestFailed&) {
      // Recorded already; the test body throws at its next tester call.
    }
    // Not reached if the task is killed (lab::TaskKilled passes through):
    // that happens only when the tester goes, and nobody waits then.
    if (wg != nullptr) wg->Done();
  });
}

// --- Begin / End ----------------------------------------------------------------

int64_t Tester::RpcTotal() const { return net_->GetTotalCount(); }

int64_t Tester::BytesTotal() const { return net_->GetTotalBytes(); }

void Tester::Begin(std::string_view description) {
  std::printf("%.*s ...\n", static_cast<int>(description.size()), description.data());
  tracing::Tester("begin", tracing::Fields().Str("title", description));
  std::fflush(stdout);
  const int64_t rpcs = RpcTotal();
  const int64_t bytes = style_.count_bytes ? BytesTotal() : 0;
  lab::MutexLock l(&mu_);
  t0_ = lab::Now();
  rpcs0_ = rpcs;
  bytes0_ = bytes;
  count0_ = CostCountLocked();
}

void Tester::End() {
  CheckFailed();
  if (lab::Now() - start_ > kTestTimeLimit) {
    Fail(absl::StrCat("test took longer than ", absl::ToInt64Seconds(kTestTimeLimit),
                      " seconds"));
  }
  const int64_t rpcs = RpcTotal();
  const int64_t bytes = style_.count_bytes ? BytesTotal() : 0;
  lab::MutexLock l(&mu_);
  const double t = absl::ToDoubleSeconds(lab::Now() - t0_);  // runtime time
  const long long count = CostCountLocked() - count0_;
  // The Go testers' columns: Lab 2's with bytes, Lab 3's without.
  if (style_.count_bytes) {
    std::printf("  ... Passed --  %4.1f  %d %4lld %7lld %4lld\n", t, n_,
                static_cast<long long>(rpcs - rpcs0_), static_cast<long long>(bytes - bytes0_),
                count);
  } else {
    std::printf("  ... Passed --  %4.1f  %d %5lld %4lld\n", t, n_,
                static_cast<long long>(rpcs - rpcs0_), count);
  }
  std::fflush(stdout);
}

// --- The test wrapper -----------------------------------------------------------

std::string CurrentReplayCommand() { return ReplayHint(); }

void RunLabTest(std::string_view binary, const std::function<void()>& body) {
  const lab::WorldOptions options = lab::WorldOptions::FromEnvOrDie();
  const bool sim = options.runtime == lab::RuntimeKind::kSim;
  std::string filter = "*";
  if (const ::testing::TestInfo* info =
          ::testing::UnitTest::GetInstance()->current_test_info()) {
    filter = absl::StrCat(info->test_suite_name(), ".", info->name());
  }
  ReplayHint() = absl::StrCat("LAB_RUNTIME=", std::string(lab::RuntimeName(options.runtime)),
                              " LAB_SEED=", options.seed,
                              " ", std::string(binary), " --gtest_filter=", filter,
                              sim ? "" : "  (threads runs do not replay exactly)");
  lab::trace::BeginTestRun({filter, std::string(lab::RuntimeName(options.runtime)),
                            sim ? std::optional<uint64_t>(options.seed) : std::nullopt,
                            ReplayHint()});
  lab::World world(options);
  absl::Status status = world.Run([&body] {
    try {
      body();
    } catch (const TestFailed&) {
      // Recorded with ADD_FAILURE already.
    }
  });
  EXPECT_TRUE(status.ok()) << status;
  if (!status.ok()) tracing::Failure(std::string(status.message()), __FILE__, __LINE__);
  lab::trace::EndTestRun(!::testing::Test::HasFailure());
  if (sim) {
    std::printf("fingerprint: %016llx\n", static_cast<unsigned long long>(world.fingerprint()));
  }
  if (::testing::Test::HasFailure()) std::printf("replay: %s\n", ReplayHint().c_str());
  std::fflush(stdout);
}

}  // namespace raft
