// labrpc/bench_util_test.cc
//
// Tests of what the lab benchmarks share: flags are split and checked as
// their usage texts promise, a measurement's failure or its world's error is
// reported, shell quoting survives /bin/sh, GoogleTest's result lines are
// counted, and a suite binary (here a small shell script that prints such
// lines) is run, logged and tabulated.

#include "labrpc/bench_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"

namespace labrpc::bench {
namespace {

constexpr char kUsage[] = "Usage: prog [FLAG...]\n";

// argv for a FlagReader; the strings must outlive it.
std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return argv;
}

TEST(FlagReader, SplitsNameAndValueAtTheFirstEquals) {
  std::vector<std::string> args = {"prog", "--ops=5", "--no_suite", "--suite_filter=A.*=x", "--e="};
  std::vector<char*> argv = Argv(args);
  FlagReader r("prog", kUsage, static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.arg(), "--ops=5");
  EXPECT_EQ(r.name(), "--ops");
  EXPECT_EQ(r.value(), "5");
  EXPECT_EQ(r.Int(1, 10), 5);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.name(), "--no_suite");
  EXPECT_EQ(r.value(), "");
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.name(), "--suite_filter");
  EXPECT_EQ(r.value(), "A.*=x");
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.name(), "--e");
  EXPECT_EQ(r.value(), "");
  EXPECT_FALSE(r.Next());
  EXPECT_FALSE(r.Next());
}

TEST(FlagReader, NoArguments) {
  std::vector<std::string> args = {"prog"};
  std::vector<char*> argv = Argv(args);
  FlagReader r("prog", kUsage, static_cast<int>(argv.size()), argv.data());
  EXPECT_FALSE(r.Next());
}

TEST(FlagReader, IntAcceptsItsBounds) {
  std::vector<std::string> args = {"prog", "--n=1", "--n=1000", "--n=9223372036854775807"};
  std::vector<char*> argv = Argv(args);
  FlagReader r("prog", kUsage, static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.Int(1, 1000), 1);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.Int(1, 1000), 1000);
  ASSERT_TRUE(r.Next());
  EXPECT_EQ(r.Int(1), 9223372036854775807);  // no upper bound by default
}

// Exits as FlagReader does for `args`: with Int(lo, hi) on --n, Unknown() on
// any other flag.
void ReadAll(std::vector<std::string> args, int64_t lo, int64_t hi) {
  std::vector<char*> argv = Argv(args);
  FlagReader r("prog", kUsage, static_cast<int>(argv.size()), argv.data());
  while (r.Next()) {
    if (r.name() == "--n") {
      r.Int(lo, hi);
    } else {
      r.Unknown();
    }
  }
  std::exit(7);  // got through
}

TEST(FlagReaderDeathTest, BadValuesExitWithCode2AndTheUsage) {
  EXPECT_EXIT(ReadAll({"prog", "--n=0"}, 1, 10), ::testing::ExitedWithCode(2),
              "^prog: bad value in --n=0\n\nUsage: prog \\[FLAG...\\]\n$");
  EXPECT_EXIT(ReadAll({"prog", "--n=11"}, 1, 10), ::testing::ExitedWithCode(2),
              "prog: bad value in --n=11\n");
  EXPECT_EXIT(ReadAll({"prog", "--n=x"}, 1, 10), ::testing::ExitedWithCode(2),
              "prog: bad value in --n=x\n");
  EXPECT_EXIT(ReadAll({"prog", "--n"}, 1, 10), ::testing::ExitedWithCode(2),
              "prog: bad value in --n\n");
  EXPECT_EXIT(ReadAll({"prog", "--n=5"}, 1, 10), ::testing::ExitedWithCode(7), "");
}

TEST(FlagReaderDeathTest, BadValueAppendsItsNote) {
  std::vector<std::string> args = {"prog", "--seconds=0"};
  std::vector<char*> argv = Argv(args);
  FlagReader r("prog", kUsage, static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(r.Next());
  EXPECT_EXIT(r.BadValue(" (0 < S <= 90)"), ::testing::ExitedWithCode(2),
              "^prog: bad value in --seconds=0 \\(0 < S <= 90\\)\n\nUsage");
}

TEST(FlagReaderDeathTest, UnknownFlagExitsWithCode2) {
  EXPECT_EXIT(ReadAll({"prog", "--n=5", "--opz=3"}, 1, 10), ::testing::ExitedWithCode(2),
              "^prog: unknown flag --opz=3\n\nUsage: prog");
}

TEST(FlagReaderDeathTest, HelpExitsWithCode0WhenReached) {
  EXPECT_EXIT(ReadAll({"prog", "--help"}, 1, 10), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(ReadAll({"prog", "-h"}, 1, 10), ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(ReadAll({"prog", "--n=5", "--help", "--opz"}, 1, 10), ::testing::ExitedWithCode(0),
              "");
  // Flags are read in order: an error before --help is reported.
  EXPECT_EXIT(ReadAll({"prog", "--opz", "--help"}, 1, 10), ::testing::ExitedWithCode(2),
              "unknown flag --opz");
}

struct Failure {
  std::string message;
};

TEST(RunInWorld, ReportsAFailureOrTheWorldsError) {
  for (lab::RuntimeKind kind : {lab::RuntimeKind::kThreads, lab::RuntimeKind::kSim}) {
    bool ran = false;
    EXPECT_EQ(RunInWorld<Failure>(kind, [&] { ran = lab::CurrentRuntime() == kind; }), "");
    EXPECT_TRUE(ran) << lab::RuntimeName(kind);
    EXPECT_EQ(RunInWorld<Failure>(kind, [] { throw Failure{"key x: wrong value"}; }),
              "key x: wrong value");
  }
  // In sim, a main task that waits for ever is a deadlock: the world's error.
  const std::string error = RunInWorld<Failure>(lab::RuntimeKind::kSim, [] {
    lab::Chan<int> never;
    never.Recv();
  });
  EXPECT_FALSE(error.empty());
}

// What /bin/sh makes of `word`.
std::string ThroughShell(const std::string& word) {
  std::FILE* out = ::popen(absl::StrCat("printf %s ", word).c_str(), "r");
  if (out == nullptr) return "(popen failed)";
  std::string got;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) got.append(buf, n);
  ::pclose(out);
  return got;
}

TEST(ShellQuote, QuotesEveryStringAsOneWord) {
  EXPECT_EQ(ShellQuote("a"), "'a'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
  for (const std::string s : {"Raft2A.*:Raft2B.*", "a b", "it's", "''", "$HOME", "`id`", "\"x\"",
                              "*", "a\\b", "-x;y|z&", "%s"}) {
    EXPECT_EQ(ThroughShell(ShellQuote(s)), s) << s;
  }
}

TEST(CountTestResult, CountsPassedAndFailedTests) {
  SuiteRun run;
  CountTestResult("[       OK ] KV3A.Basic (1234 ms)\n", &run);
  CountTestResult("[  FAILED  ] Raft2B.Backup (56 ms)", &run);  // no newline
  CountTestResult("[       OK ] Raft2A.InitialElection (0 ms)\n", &run);
  EXPECT_EQ(run.passed, 2);
  EXPECT_EQ(run.failed, 1);
  ASSERT_EQ(run.tests.size(), 3u);
  EXPECT_EQ(run.tests[0], std::make_pair(int64_t{1234}, std::string("KV3A.Basic")));
  EXPECT_EQ(run.tests[1], std::make_pair(int64_t{56}, std::string("Raft2B.Backup")));
  EXPECT_EQ(run.tests[2], std::make_pair(int64_t{0}, std::string("Raft2A.InitialElection")));
}

TEST(CountTestResult, NamesAParameterizedTestByItsWholeLine) {
  SuiteRun run;
  CountTestResult("[  FAILED  ] Runtimes/ChanTest.Send/sim, where GetParam() = 1 (7 ms)\n", &run);
  EXPECT_EQ(run.failed, 1);
  ASSERT_EQ(run.tests.size(), 1u);
  EXPECT_EQ(run.tests[0].second, "Runtimes/ChanTest.Send/sim, where GetParam() = 1");
}

TEST(CountTestResult, IgnoresOtherLines) {
  SuiteRun run;
  for (const char* line : {
           "[ RUN      ] KV3A.Basic\n",
           "[----------] 3 tests from Raft2A (123 ms total)\n",
           "[==========] 3 tests from 1 test suite ran. (123 ms total)\n",
           "[  PASSED  ] 2 tests.\n",
           "[  FAILED  ] 1 test, listed below:\n",
           "[  FAILED  ] Raft2B.Backup\n",
           "[       OK ] KV3A.Basic (many ms)\n",
           "[       OK ] KV3A.Basic (12 ms) trailing\n",
           "test: ... (12 ms)\n",
           "",
       }) {
    CountTestResult(line, &run);
  }
  EXPECT_EQ(run.passed, 0);
  EXPECT_EQ(run.failed, 0);
  EXPECT_TRUE(run.tests.empty());
}

TEST(Slowest, NamesTheSlowestFirst) {
  SuiteRun run;
  run.tests = {{4500, "KV3A.Basic"}, {12, "KV3A.One"}, {12300, "KV3B.Speed"}, {900, "KV3A.Two"}};
  EXPECT_EQ(Slowest(run, 3), "KV3B.Speed 12.3s, KV3A.Basic 4.5s, KV3A.Two 0.9s");
  EXPECT_EQ(Slowest(run, 1), "KV3B.Speed 12.3s");
  EXPECT_EQ(Slowest(run, 10), "KV3B.Speed 12.3s, KV3A.Basic 4.5s, KV3A.Two 0.9s, KV3A.One 0.012s");
  EXPECT_EQ(Slowest(SuiteRun{}, 3), "");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A stand-in suite binary, in a folder whose name needs quoting: prints its
// environment and arguments and one passed and one failed test, then exits
// with `exit`; a negative `exit` kills it with that signal instead.
std::string FakeSuite(const std::string& name, int exit) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "it's a dir";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path) << "#!/bin/sh\n"
                      << "echo \"runtime=$LAB_RUNTIME seed=${LAB_SEED-unset} args=$*\"\n"
                      << "echo '[ RUN      ] Fake.Passes'\n"
                      << "echo '[       OK ] Fake.Passes (1500 ms)'\n"
                      << "echo '[ RUN      ] Fake.Fails'\n"
                      << "echo 'the failure' >&2\n"
                      << "echo '[  FAILED  ] Fake.Fails (20 ms)'\n"
                      << (exit >= 0 ? absl::StrCat("exit ", exit, "\n")
                                    : absl::StrCat("kill -", -exit, " $$\n"));
  ::chmod(path.c_str(), 0755);
  return path;
}

TEST(RunSuite, RunsTheBinaryInTheRuntimeAndLogsItsOutput) {
  const SuiteRun run = RunSuite(FakeSuite("suite", 1), "sim", "Fake.*:Other.*", "bench_test_");
  EXPECT_EQ(run.passed, 1);
  EXPECT_EQ(run.failed, 1);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_GE(run.wall_seconds, 0);
  EXPECT_EQ(std::filesystem::path(run.log).filename().string(),
            absl::StrCat("bench_test_sim.", ::getpid(), ".log"));
  const std::string log = ReadFile(run.log);
  EXPECT_TRUE(absl::StartsWith(log, "runtime=sim seed=1 args=--gtest_filter=Fake.*:Other.*\n"))
      << log;
  EXPECT_TRUE(absl::StrContains(log, "the failure\n")) << log;  // stderr too
  ASSERT_EQ(run.tests.size(), 2u);
  EXPECT_EQ(run.tests[0].second, "Fake.Passes");
  EXPECT_EQ(run.tests[1].second, "Fake.Fails");
}

TEST(RunSuite, ThreadsGetsNoSeed) {
  const SuiteRun run = RunSuite(FakeSuite("suite", 0), "threads", "*", "bench_test_");
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(ReadFile(run.log), "runtime=threads seed=unset args=--gtest_filter=*\n"));
}

TEST(RunSuite, KilledBySignalN) {
  const SuiteRun run = RunSuite(FakeSuite("killed", -15), "sim", "*", "bench_test_");
  EXPECT_EQ(run.exit_code, 128 + 15);
  EXPECT_EQ(run.passed, 1);
}

TEST(DefaultSuiteBinary, FindsAnExecutableNextToThisOne) {
  const std::string self = DefaultSuiteBinary("", "labrpc", "bench_util_test");
  EXPECT_TRUE(absl::EndsWith(self, "/bench_util_test")) << self;
  EXPECT_EQ(DefaultSuiteBinary("", "labrpc", "no_such_test"), "");
}

TEST(PrintSuiteTable, SaysWhatToBuildWhenThereIsNoBinary) {
  SuiteTable table;
  table.title = "(b) Lab 2 suite wall time";
  table.filter = "Raft2A.*";
  table.build_target = "//raft:raft_test_sim_seed1";
  ::testing::internal::CaptureStdout();
  PrintSuiteTable(table);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(),
            "(b) Lab 2 suite wall time: (no binary) --gtest_filter=Raft2A.*\n\n"
            "  cannot run the suite binary: build it (bazel build //raft:raft_test_sim_seed1) or "
            "pass --suite_binary\n");
}

TEST(PrintSuiteTable, OneRowPerRuntime) {
  SuiteTable table;
  table.title = "(c) Lab 3 suite wall time";
  table.binary = FakeSuite("suite", 1);
  table.filter = "Fake.*";
  table.log_prefix = "bench_test_";
  table.threads_time = "about 7.5 minutes";
  table.slowest = 3;
  ::testing::internal::CaptureStdout();
  PrintSuiteTable(table);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(absl::StartsWith(out, absl::StrCat("(c) Lab 3 suite wall time: ", table.binary,
                                                 " --gtest_filter=Fake.*\n\n"
                                                 "  runtime   passed  failed  exit     wall s  log\n"
                                                 "  sim            1       1     1 ")))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "           slowest (wall): Fake.Passes 1.5s, Fake.Fails 0.02s\n"
                                     "  threads  (skipped; --suite_threads runs it, about 7.5 minutes)\n"
                                     "\n"))
      << out;
  EXPECT_TRUE(absl::EndsWith(out, "minutes)\n\n")) << out;

  // Without `slowest`, no such line; with `threads`, a row for threads.
  table.slowest = 0;
  table.threads = true;
  ::testing::internal::CaptureStdout();
  PrintSuiteTable(table);
  const std::string out2 = ::testing::internal::GetCapturedStdout();
  EXPECT_FALSE(absl::StrContains(out2, "slowest")) << out2;
  EXPECT_TRUE(absl::StrContains(out2, "\n  threads        1       1     1 ")) << out2;
}

}  // namespace
}  // namespace labrpc::bench
