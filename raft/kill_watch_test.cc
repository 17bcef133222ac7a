// raft/kill_watch_test.cc
//
// The rules of Kill as in Go (kill_watch.h), on a KillWatch fed by hand:
// what a killed instance may still do, and what fails.

#include "raft/kill_watch.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

namespace raft {
namespace {

const absl::Time kT0 = absl::UnixEpoch() + absl::Seconds(100);

TEST(KillWatch, AnythingGoesBeforeKill) {
  KillWatch w;
  for (int k = 1; k <= 10; ++k) EXPECT_EQ(w.OnApply(k, kT0), "");
  EXPECT_EQ(w.OnCall("AppendEntries", kT0 + absl::Seconds(5)), "");
  EXPECT_FALSE(w.killed());
}

TEST(KillWatch, TwoApplyMsgsInFlightAreAllowedAThirdFails) {
  KillWatch w;
  w.Killed(kT0);
  EXPECT_TRUE(w.killed());
  // One the tester's applier held, one the Raft was blocked offering.
  EXPECT_EQ(w.OnApply(7, kT0), "");
  EXPECT_EQ(w.OnApply(8, kT0 + absl::Milliseconds(40)), "");
  const std::string error = w.OnApply(9, kT0 + absl::Milliseconds(40));
  EXPECT_NE(error.find("ApplyMsg 3 (index 9)"), std::string::npos) << error;
  EXPECT_NE(error.find("after Kill() returned"), std::string::npos) << error;
}

TEST(KillWatch, CallsInFlightAreAllowedLaterOnesFail) {
  KillWatch w;
  w.Killed(kT0);
  EXPECT_EQ(w.OnCall("AppendEntries", kT0), "");
  EXPECT_EQ(w.OnCall("AppendEntries", kT0 + kInFlightAllowance), "");
  const std::string error = w.OnCall("RequestVote", kT0 + absl::Milliseconds(350));
  EXPECT_NE(error.find("sent RequestVote 350ms after Kill() returned"), std::string::npos)
      << error;
}

TEST(KillWatch, TheAllowanceIsTheWatchs) {
  KillWatch w(absl::Seconds(1));
  w.Killed(kT0);
  EXPECT_EQ(w.OnCall("AppendEntries", kT0 + absl::Milliseconds(900)), "");
  EXPECT_NE(w.OnCall("AppendEntries", kT0 + absl::Milliseconds(1100)), "");
}

TEST(KillWatch, AllowanceAndGraceAreLongerOnlyInThreads) {
  // (In threads, under ThreadSanitizer only: see kRaceThreadsFactor.)
  for (lab::RuntimeKind kind : {lab::RuntimeKind::kSim, lab::RuntimeKind::kThreads}) {
    absl::Duration allowance, grace;
    ASSERT_TRUE(lab::testing::RunWorld(kind, 1, [&] {
                  allowance = InFlightAllowance();
                  grace = KillGrace();
                }).ok());
    const int64_t factor = allowance / kInFlightAllowance;
    EXPECT_TRUE(factor == 1 || (kind == lab::RuntimeKind::kThreads && factor == kRaceThreadsFactor))
        << lab::RuntimeName(kind) << ": " << allowance;
    EXPECT_EQ(grace, kKillGrace * factor) << lab::RuntimeName(kind);
    // A Raft that ignores Kill() is still caught within the grace period.
    EXPECT_LE(allowance + absl::Milliseconds(800), grace);
  }
}

}  // namespace
}  // namespace raft
