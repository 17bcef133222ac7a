// raft/kill_watch_test.cc
//
// The rules of Kill as in Go (kill_watch.h), on a KillWatch fed by hand:
// what a killed instance may still do, and what fails.

#include "raft/kill_watch.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

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

}  // namespace
}  // namespace raft
