// labrpc/runtime/race_test.cc
//
// Race detection, deterministic in sim: runs race_fixture's scenarios as
// child processes under ThreadSanitizer and reads TSan's reports from their
// output. Only meaningful when built with --config=tsan; otherwise every test
// is skipped with a message saying so:
//
//   bazel test --config=tsan //labrpc/runtime:race_test
//
// The fixture's path is the test's first argument (see BUILD).

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/race.h"

namespace {

constexpr int kSeeds = 50;

std::string g_fixture;  // set by main

struct FixtureRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
  bool reported() const {
    return output.find("WARNING: ThreadSanitizer: data race") != std::string::npos;
  }
};

FixtureRun RunFixture(const std::string& scenario, const std::string& runtime, int seed) {
  const std::string cmd = absl::StrCat(
      "LAB_RUNTIME=", runtime, " LAB_SEED=", seed,
      " TSAN_OPTIONS='halt_on_error=1 exitcode=66' '", g_fixture, "' ", scenario, " 2>&1");
  FixtureRun run;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed: " << cmd;
    return run;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) run.output.append(buf, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

// A report without what changes from run to run: addresses, thread and
// process ids.
std::string Normalized(const std::string& report) {
  static const std::regex kNoise(R"(0x[0-9a-f]+|tid=\d+|pid=\d+|==\d+==)");
  return std::regex_replace(report, kNoise, "_");
}

class RaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!lab::internal::race::kEnabled) {
      GTEST_SKIP() << "not built with ThreadSanitizer: these tests check race detection and "
                      "run only under `bazel test --config=tsan //labrpc/runtime:race_test`";
    }
  }

  // How many of seeds 1..kSeeds report a race in `scenario` (sim).
  int ReportedSeeds(const std::string& scenario) {
    int reported = 0;
    for (int seed = 1; seed <= kSeeds; ++seed) {
      FixtureRun run = RunFixture(scenario, "sim", seed);
      if (run.reported()) {
        ++reported;
        EXPECT_EQ(run.exit_code, 66) << "seed " << seed << "\n" << run.output;
      } else {
        EXPECT_EQ(run.exit_code, 0) << "seed " << seed << "\n" << run.output;
      }
    }
    return reported;
  }
};

TEST_F(RaceTest, UnlockedCounterIsReportedOnEverySeed) {
  EXPECT_EQ(ReportedSeeds("unlocked-counter"), kSeeds);
}

TEST_F(RaceTest, LockedCounterIsNeverReported) {
  EXPECT_EQ(ReportedSeeds("locked-counter"), 0);
}

TEST_F(RaceTest, ChannelHandOffIsNeverReported) {
  EXPECT_EQ(ReportedSeeds("chan-handoff"), 0);
}

TEST_F(RaceTest, WriteAfterSendIsReportedOnEverySeed) {
  EXPECT_EQ(ReportedSeeds("chan-write-after-send"), kSeeds);
}

TEST_F(RaceTest, CondVarHandOffIsNeverReported) {
  EXPECT_EQ(ReportedSeeds("condvar-handoff"), 0);
}

TEST_F(RaceTest, SpawnAndJoinAreNeverReported) {
  EXPECT_EQ(ReportedSeeds("spawn-and-join"), 0);
}

TEST_F(RaceTest, ReportNamesBothTasks) {
  FixtureRun run = RunFixture("unlocked-counter", "sim", 1);
  ASSERT_TRUE(run.reported()) << run.output;
  EXPECT_NE(run.output.find("incrementer-a (task"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("incrementer-b (task"), std::string::npos) << run.output;
}

TEST_F(RaceTest, SameSeedSameReport) {
  for (int seed : {1, 2, 3}) {
    FixtureRun first = RunFixture("unlocked-counter", "sim", seed);
    FixtureRun second = RunFixture("unlocked-counter", "sim", seed);
    ASSERT_TRUE(first.reported()) << first.output;
    EXPECT_EQ(Normalized(first.output), Normalized(second.output)) << "seed " << seed;
  }
}

// In threads this is plain TSan: the race is real concurrency, and TSan sees it.
TEST_F(RaceTest, UnlockedCounterIsReportedInThreads) {
  FixtureRun run = RunFixture("unlocked-counter", "threads", 1);
  EXPECT_TRUE(run.reported()) << run.output;
  EXPECT_FALSE(RunFixture("locked-counter", "threads", 1).reported());
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc >= 2) g_fixture = argv[1];
  if (g_fixture.empty()) {
    std::fprintf(stderr, "usage: race_test PATH_TO_race_fixture\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
