// labrpc/runtime/livelock_test.cc
//
// The sim runtime's livelock report (livelock.h): tasks that keep one
// another running, so that virtual time stands still, are stopped after
// WorldOptions::livelock_limit of real time and named with what they keep
// doing; a busy program whose clock moves is not. The tests shorten the
// limit; its real-time nature is the point, so they read the real clock.

#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

namespace {

using Clock = std::chrono::steady_clock;
using lab::testing::TestOptions;
using lab::testing::TestSeed;

constexpr absl::Duration kLimit = absl::Milliseconds(300);

// Runs `body` in a sim world with the short livelock limit; returns Run()'s
// status and, in *real, the real time Run() took.
absl::Status RunWithShortLimit(std::function<void()> body, absl::Duration* real) {
  lab::WorldOptions options = TestOptions(lab::RuntimeKind::kSim, TestSeed());
  options.livelock_limit = kLimit;
  lab::World world(options);
  const Clock::time_point start = Clock::now();
  absl::Status status = world.Run(std::move(body));
  *real = absl::FromChrono(Clock::now() - start);
  return status;
}

// The report's line about task `name`, or "" if none.
std::string LineAbout(const absl::Status& status, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(status.message(), '\n')) {
    if (absl::StrContains(line, absl::StrCat("\"", name, "\""))) return std::string(line);
  }
  return "";
}

TEST(SimLivelock, TwoTasksPingPongingForeverAreReportedWithWhatTheyDo) {
  // Two tasks pass a ball back and forth on two channels with no pause, the
  // way a leader and a follower can resend a rejected RPC at once forever:
  // the tasks never all wait. A ticker sleeps 1 ms in a loop meanwhile, like
  // Raft's: the scheduler forces the clock on to its timer now and then, by
  // a millisecond at a time, so a test's time limit is far away.
  absl::Duration real;
  absl::Status status = RunWithShortLimit(
      [] {
        lab::Chan<int> to_pong, to_ping;
        lab::TaskGroup players("players");
        players.Go("ping", [&] {
          to_pong.Send(0);
          while (std::optional<int> ball = to_ping.Recv()) to_pong.Send(*ball + 1);
        });
        players.Go("pong", [&] {
          while (std::optional<int> ball = to_pong.Recv()) to_ping.Send(*ball + 1);
        });
        players.Go("ticker", [] {
          while (true) lab::SleepFor(absl::Milliseconds(1));
        });
        (void)players.Join(absl::InfiniteDuration());
      },
      &real);
  ASSERT_FALSE(status.ok()) << "the livelock was not reported";
  const std::string report(status.message());
  std::printf("report after %s of real time:\n%s", absl::FormatDuration(real).c_str(),
              report.c_str());
  EXPECT_TRUE(absl::StartsWith(report, "livelock at t=")) << report;
  EXPECT_TRUE(absl::StrContains(report, absl::StrCat("(seed ", TestSeed(), ")"))) << report;
  // Both players are named, each with a channel call as its last.
  for (const std::string name : {"ping", "pong"}) {
    const std::string line = LineAbout(status, name);
    EXPECT_TRUE(absl::StrContains(line, "last call Chan.")) << name << ": " << line;
  }
  // They come first, busiest first; main and the ticker ran a few times.
  std::vector<std::string> lines = absl::StrSplit(report, '\n');
  ASSERT_GE(lines.size(), 3u);
  EXPECT_TRUE(absl::StrContains(lines[1] + lines[2], "\"ping\"")) << report;
  EXPECT_TRUE(absl::StrContains(lines[1] + lines[2], "\"pong\"")) << report;
  EXPECT_TRUE(absl::StrContains(LineAbout(status, "ticker"), "last call SleepFor")) << report;
  // Stopped once the limit passed (and the stretch had its 100 000 task
  // switches: a while longer on a loaded machine).
  EXPECT_GE(real, kLimit);
  EXPECT_LT(real, absl::Minutes(2));
}

TEST(SimLivelock, TasksYieldingForeverAreReported) {
  // Three tasks that only lab::Yield, with no timer anywhere: the clock
  // cannot move at all.
  absl::Duration real;
  absl::Status status = RunWithShortLimit(
      [] {
        lab::TaskGroup spinners("spinners");
        for (int i = 0; i < 3; ++i) {
          spinners.Go(absl::StrCat("yielder-", i), [] {
            while (true) lab::Yield();
          });
        }
        (void)spinners.Join(absl::InfiniteDuration());
      },
      &real);
  ASSERT_FALSE(status.ok()) << "the livelock was not reported";
  for (int i = 0; i < 3; ++i) {
    const std::string line = LineAbout(status, absl::StrCat("yielder-", i));
    EXPECT_TRUE(absl::StrContains(line, "(group spinners)")) << status;
    EXPECT_TRUE(absl::StrContains(line, "last call lab::Yield")) << status;
  }
}

TEST(SimLivelock, ShortLivedTasksOfOneNameCountTogether) {
  // A livelock through RPCs starts a task per call: here a relay starts a
  // "hop" task per message, forever. The report counts the hops together,
  // ended ones included, with their most frequent last calls.
  absl::Duration real;
  absl::Status status = RunWithShortLimit(
      [] {
        lab::Chan<int> ch;
        lab::TaskGroup relay("relay");
        relay.Go("relay", [&] {
          while (true) {
            lab::Go("hop", [&] { ch.Send(1); });
            (void)ch.Recv();
          }
        });
        (void)relay.Join(absl::InfiniteDuration());
      },
      &real);
  ASSERT_FALSE(status.ok()) << "the livelock was not reported";
  const std::string line = LineAbout(status, "hop");
  std::printf("%s\n", line.c_str());
  EXPECT_TRUE(absl::StrContains(line, " tasks \"hop\" (group relay): ran ")) << status;
  EXPECT_TRUE(absl::StrContains(line, "last calls Chan.Send")) << status;
  // Many of them ended long ago: far more hops than are alive at once.
  int64_t hops = 0;
  ASSERT_TRUE(absl::SimpleAtoi(line.substr(0, line.find(" tasks")), &hops)) << line;
  EXPECT_GT(hops, 1000) << line;
}

TEST(SimLivelock, BusyProgramWhoseClockMovesIsNotReported) {
  // The same ping-pong, but the players sleep 1 ms every 1000 exchanges, so
  // every task waits now and then and virtual time moves on: however long
  // the run takes in real time, it is no livelock.
  constexpr int kRounds = 400;
  absl::Duration real;
  absl::Duration virtual_time;
  absl::Status status = RunWithShortLimit(
      [&virtual_time] {
        const absl::Time start = lab::Now();
        lab::Chan<int> to_pong, to_ping;
        lab::TaskGroup players("players");
        players.Go("ping", [&] {
          for (int round = 0; round < kRounds; ++round) {
            for (int i = 0; i < 1000; ++i) {
              to_pong.Send(i);
              (void)to_ping.Recv();
            }
            lab::SleepFor(absl::Milliseconds(1));
          }
          to_pong.Close();
        });
        players.Go("pong", [&] {
          while (std::optional<int> ball = to_pong.Recv()) to_ping.Send(*ball);
        });
        EXPECT_TRUE(players.Join(absl::InfiniteDuration()));
        virtual_time = lab::Now() - start;
      },
      &real);
  EXPECT_TRUE(status.ok()) << status;
  std::printf("busy: %d rounds of 1000 exchanges took %s of real time (limit %s), %s of "
              "virtual time\n",
              kRounds, absl::FormatDuration(real).c_str(), absl::FormatDuration(kLimit).c_str(),
              absl::FormatDuration(virtual_time).c_str());
  EXPECT_EQ(virtual_time, absl::Milliseconds(kRounds));
  // Meaningful only if the run outlasted the limit.
  EXPECT_GT(real, kLimit) << "the busy run was too short to test anything: raise kRounds";
}

}  // namespace
