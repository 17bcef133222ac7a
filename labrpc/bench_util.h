// labrpc/bench_util.h
//
// What the lab benchmarks (raft/raft_benchmark.cc, kvraft/kvraft_benchmark.cc)
// share: reading their flags, running a measurement in a fresh world, and
// timing a lab's GoogleTest suite binary, run as a subprocess, in each
// runtime (framework, not student code).
//
//   labrpc::bench::FlagReader args("raft_benchmark", kUsage, argc, argv);
//   while (args.Next()) {                  // --help and -h print kUsage, exit 0
//     if (args.name() == "--clients") {
//       clients = static_cast<int>(args.Int(1));
//     } else if (args.name() == "--suite_filter") {
//       filter = std::string(args.value());
//     } else {
//       args.Unknown();                    // prints the error and kUsage, exit 2
//     }
//   }
//
//   labrpc::bench::SuiteTable table;
//   table.title = "(b) Lab 2 suite wall time";
//   table.binary = labrpc::bench::DefaultSuiteBinary(argv[0], "raft", "raft_test_sim_seed1");
//   ...
//   labrpc::bench::PrintSuiteTable(table);  // runs the suite, prints one row per runtime

#ifndef LABRPC_BENCH_UTIL_H_
#define LABRPC_BENCH_UTIL_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "labrpc/runtime/lab.h"

namespace labrpc::bench {

// Reads flags of the form --name or --name=value, one argument at a time.
// Errors print "program: what was wrong", a blank line and the usage text on
// stderr, and exit with code 2.
class FlagReader {
 public:
  // `program` and `usage` must outlive the reader.
  FlagReader(const char* program, const char* usage, int argc, char** argv);
  FlagReader(const FlagReader&) = delete;
  FlagReader& operator=(const FlagReader&) = delete;

  // Moves to the next argument; false when there is none left. --help and
  // -h print the usage on stdout and exit with code 0.
  bool Next();

  // The current argument, its name ("--ops" of "--ops=5") and its value
  // ("5"; "" without "=").
  absl::string_view arg() const { return arg_; }
  absl::string_view name() const { return name_; }
  absl::string_view value() const { return value_; }

  // The value as an integer in [lo, hi]; otherwise BadValue().
  int64_t Int(int64_t lo, int64_t hi = std::numeric_limits<int64_t>::max()) const;

  // "bad value in --ops=x", then `note` (e.g. " (0 < S <= 90)").
  [[noreturn]] void BadValue(absl::string_view note = "") const;
  // "unknown flag --opz".
  [[noreturn]] void Unknown() const;

 private:
  [[noreturn]] void Fail(const std::string& error) const;

  // Constant after construction.
  const char* const program_;
  const char* const usage_;
  const int argc_;
  char** const argv_;

  // Set by Next().
  int next_ = 1;  // argv_[0] is the program
  absl::string_view arg_;
  absl::string_view name_;
  absl::string_view value_;
};

// Runs `body` as the main task of a fresh world of runtime `kind` (seed 1,
// not announced). Returns what went wrong: the message of a `Failure` that
// `body` threw (the testers' raft::TestFailed), else the world's error; ""
// if nothing did.
template <class Failure>
std::string RunInWorld(lab::RuntimeKind kind, const std::function<void()>& body) {
  lab::WorldOptions options;
  options.runtime = kind;
  options.seed = 1;
  options.announce = false;
  lab::World world(options);
  std::string error;
  const absl::Status status = world.Run([&] {
    try {
      body();
    } catch (const Failure& f) {
      error = f.message;
    }
  });
  if (!status.ok() && error.empty()) error = std::string(status.message());
  return error;
}

// Real (steady-clock) seconds since `since`.
double RealSeconds(std::chrono::steady_clock::time_point since);

// `s` quoted for /bin/sh: it's -> 'it'\''s'.
std::string ShellQuote(absl::string_view s);

// The executable `name` next to this program (looked for beside
// /proc/self/exe, then beside `argv0`, then in `package`, which is where it
// is in the runfiles tree under `bazel run`), or "" if none.
std::string DefaultSuiteBinary(const char* argv0, absl::string_view package,
                               absl::string_view name);

// One run of a suite binary.
struct SuiteRun {
  double wall_seconds = 0;
  int passed = 0;
  int failed = 0;
  int exit_code = -1;  // 128 + N if killed by signal N; -1 if it did not run
  std::string log;     // where the run's output went
  std::vector<std::pair<int64_t, std::string>> tests;  // (ms, name) per finished test
};

// Counts one of GoogleTest's per-test result lines into `run`:
// "[       OK ] KV3A.Basic (1234 ms)" or "[  FAILED  ] ..." (a trailing
// newline is allowed). Other lines leave `run` as it is.
void CountTestResult(absl::string_view line, SuiteRun* run);

// Runs `binary --gtest_filter=filter` with LAB_RUNTIME=runtime (and, for
// sim, LAB_SEED=1), stdout and stderr going to the log file
// TMPDIR/<log_prefix><runtime>.<pid>.log, and times it.
SuiteRun RunSuite(const std::string& binary, absl::string_view runtime, absl::string_view filter,
                  absl::string_view log_prefix);

// "KV3B.Speed 12.3s, KV3A.Basic 4.5s" for the `n` slowest tests of `run`.
std::string Slowest(SuiteRun run, size_t n);

// A benchmark's suite table: the suite run in sim, then in threads.
struct SuiteTable {
  std::string title;         // "(b) Lab 2 suite wall time"
  std::string binary;        // the suite binary; "" if none was found
  std::string filter;        // its --gtest_filter
  std::string build_target;  // what builds it: "//raft:raft_test_sim_seed1"
  std::string log_prefix;    // see RunSuite(): "raft_benchmark_suite_"
  bool threads = false;      // also run in threads (--suite_threads)
  std::string threads_time;  // how long that takes, said when it is skipped
  size_t slowest = 0;        // how many of the slowest tests to name per run
};

// Prints the title; then, if the binary can be run, runs the suite and
// prints a row for each runtime and a blank line, else says what to build.
void PrintSuiteTable(const SuiteTable& table);

}  // namespace labrpc::bench

#endif  // LABRPC_BENCH_UTIL_H_
