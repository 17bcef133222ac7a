// raft/raft_benchmark.cc
//
// How fast the Raft in raft.cc agrees, and how long the Lab 2 suite takes, in
// each runtime (framework, not student code). Prints two tables:
//
//   bazel build //raft:raft_benchmark
//   bazel-bin/raft/raft_benchmark                  # throughput, and the sim suite
//   bazel-bin/raft/raft_benchmark --suite_threads  # also the threads suite (~8 min)
//   bazel-bin/raft/raft_benchmark --help
//
// Throughput: the tester's cluster (raft::Config) of 3 and of 5 peers on a
// reliable network; once a leader is in place, --clients tasks each loop:
// Start a command on the leader, then poll the tester every --poll_us until
// some peer has applied that index (committed), for --seconds of runtime
// time. Reported per runtime second and per real second; in threads the two
// are the same clock. In sim a reliable network delivers in zero virtual
// time, so a command's virtual latency is about the poll interval and
// commands per simulated second mostly measure the polling; commands per
// real second measure Raft plus the runtime.
//
// Suite: runs the Lab 2 test binary (Raft2A-2D by default) as a subprocess
// with LAB_RUNTIME=sim LAB_SEED=1, and with --suite_threads also with
// LAB_RUNTIME=threads, and reports its wall time and result. Each run's
// output goes to a log file named in the table.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "labrpc/runtime/lab.h"
#include "raft/config.h"

namespace {

constexpr char kUsage[] = R"(Usage: raft_benchmark [FLAG...]

Measures the Raft in raft/raft.cc:
  (a) agreement throughput: committed commands per second, 3 and 5 peers,
      reliable network, concurrent clients Starting on the leader; in the
      threads and the sim runtime (sim: per simulated and per real second);
  (b) the Lab 2 suite's wall time: runs the test binary as a subprocess with
      LAB_RUNTIME=sim (and, with --suite_threads, LAB_RUNTIME=threads).

Flags:
  --seconds=S         runtime seconds per throughput run (default 2)
  --clients=N         client tasks per throughput run (default 8)
  --poll_us=U         how often a client polls for its commit (default 1000)
  --suite_binary=P    the Lab 2 test binary (default: raft_test_sim_seed1 next
                      to this binary, e.g. bazel-bin/raft/raft_test_sim_seed1)
  --suite_filter=F    gtest filter for the suite
                      (default Raft2A.*:Raft2B.*:Raft2C.*:Raft2D.*)
  --suite_threads     also run the suite in the threads runtime: slow, about
                      8 minutes of wall time (off by default)
  --no_suite          skip (b)
  --no_throughput     skip (a)
  --help              this text
)";

struct Flags {
  absl::Duration length = absl::Seconds(2);
  int clients = 8;
  absl::Duration poll = absl::Microseconds(1000);
  std::string suite_binary;
  std::string suite_filter = "Raft2A.*:Raft2B.*:Raft2C.*:Raft2D.*";
  bool suite_threads = false;
  bool suite = true;
  bool throughput = true;
};

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr, "raft_benchmark: %s\n\n%s", error.c_str(), kUsage);
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    const absl::string_view value = eq == absl::string_view::npos ? "" : arg.substr(eq + 1);
    auto number = [&](int64_t lo) {
      int64_t v = 0;
      if (!absl::SimpleAtoi(value, &v) || v < lo) Usage(absl::StrCat("bad value in ", arg));
      return v;
    };
    if (name == "--help" || name == "-h") {
      std::printf("%s", kUsage);
      std::exit(0);
    } else if (name == "--seconds") {
      double s = 0;
      if (!absl::SimpleAtod(value, &s) || s <= 0) Usage(absl::StrCat("bad value in ", arg));
      flags.length = absl::Seconds(s);
    } else if (name == "--clients") {
      flags.clients = static_cast<int>(number(1));
    } else if (name == "--poll_us") {
      flags.poll = absl::Microseconds(number(1));
    } else if (name == "--suite_binary") {
      flags.suite_binary = std::string(value);
    } else if (name == "--suite_filter") {
      flags.suite_filter = std::string(value);
    } else if (name == "--suite_threads") {
      flags.suite_threads = true;
    } else if (name == "--no_suite") {
      flags.suite = false;
    } else if (name == "--no_throughput") {
      flags.throughput = false;
    } else {
      Usage(absl::StrCat("unknown flag ", arg));
    }
  }
  return flags;
}

double RealSeconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// --- (a) Agreement throughput --------------------------------------------------

struct Throughput {
  int64_t commands = 0;      // committed, and the command we started
  int64_t lost = 0;          // Start refused, or another command at our index
  double runtime_seconds = 0;
  double real_seconds = 0;
  int64_t rpcs = 0;
  std::string error;         // empty if the run went through
};

Throughput MeasureThroughput(lab::RuntimeKind kind, int peers, const Flags& flags) {
  lab::WorldOptions options;
  options.runtime = kind;
  options.seed = 1;
  options.announce = false;
  lab::World world(options);
  Throughput result;
  absl::Status status = world.Run([&] {
    try {
      raft::Config cfg(peers, /*unreliable=*/false, /*snapshot=*/false);
      cfg.One(raft::Cmd(0), peers, /*retry=*/true);  // a leader, everyone up to date
      const int leader = cfg.CheckOneLeader();
      std::atomic<int64_t> committed{0};
      std::atomic<int64_t> lost{0};
      const int64_t rpcs0 = cfg.RpcTotal();
      const absl::Time t0 = lab::Now();
      const absl::Time deadline = t0 + flags.length;
      // A command still uncommitted this long after the deadline is lost.
      const absl::Time give_up = deadline + absl::Seconds(5);
      const auto real0 = std::chrono::steady_clock::now();
      raft::WaitGroup wg;
      for (int c = 0; c < flags.clients; ++c) {
        cfg.Go(
            absl::StrCat("client ", c),
            [&, c] {
              for (int64_t seq = 0; lab::Now() < deadline; ++seq) {
                const std::string command = absl::StrCat("c", c, "-", seq);
                const raft::StartResult r = cfg.Start(leader, command);
                if (!r.is_leader) {
                  ++lost;
                  lab::SleepFor(flags.poll);
                  continue;
                }
                while (true) {
                  const raft::Config::Committed got = cfg.NCommitted(r.index);
                  if (got.count > 0) {
                    ++(got.command == command ? committed : lost);
                    break;
                  }
                  if (lab::Now() > give_up) {
                    ++lost;
                    break;
                  }
                  lab::SleepFor(flags.poll);
                }
              }
            },
            &wg);
      }
      wg.Wait();
      result.real_seconds = RealSeconds(real0);
      result.runtime_seconds = absl::ToDoubleSeconds(lab::Now() - t0);
      result.rpcs = cfg.RpcTotal() - rpcs0;
      result.commands = committed.load();
      result.lost = lost.load();
      cfg.CheckFailed();
    } catch (const raft::TestFailed& f) {
      result.error = f.message;
    }
  });
  if (!status.ok() && result.error.empty()) result.error = std::string(status.message());
  return result;
}

void RunThroughput(const Flags& flags) {
  std::printf("(a) Agreement throughput: reliable network, %d clients Starting on the leader, "
              "%s of runtime time per run, a client polls for its commit every %s\n\n",
              flags.clients, absl::FormatDuration(flags.length).c_str(),
              absl::FormatDuration(flags.poll).c_str());
  std::printf("  %-8s %5s %9s %6s %10s %8s %14s %11s %9s\n", "runtime", "peers", "committed",
              "lost", "runtime s", "real s", "cmd/runtime-s", "cmd/real-s", "RPCs/cmd");
  std::fflush(stdout);
  for (lab::RuntimeKind kind : {lab::RuntimeKind::kThreads, lab::RuntimeKind::kSim}) {
    for (int peers : {3, 5}) {
      const Throughput t = MeasureThroughput(kind, peers, flags);
      const std::string name(lab::RuntimeName(kind));
      if (!t.error.empty()) {
        std::printf("  %-8s %5d  failed: %s\n", name.c_str(), peers, t.error.c_str());
        std::fflush(stdout);
        continue;
      }
      const double per_runtime = t.commands / t.runtime_seconds;
      const double per_real = t.commands / t.real_seconds;
      const double rpcs_per_cmd = t.commands > 0 ? static_cast<double>(t.rpcs) / t.commands : 0;
      std::printf("  %-8s %5d %9lld %6lld %10.2f %8.2f %14.0f %11.0f %9.2f\n", name.c_str(), peers,
                  static_cast<long long>(t.commands), static_cast<long long>(t.lost),
                  t.runtime_seconds, t.real_seconds, per_runtime, per_real, rpcs_per_cmd);
      std::fflush(stdout);
    }
  }
  std::printf("\n  threads: runtime time is real time. sim: commands per simulated second are "
              "bounded by the\n  poll interval (zero-latency network); per real second is the "
              "cost of Raft + runtime.\n\n");
}

// --- (b) Suite wall time ------------------------------------------------------

std::string ShellQuote(absl::string_view s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

// The test binary next to this one (bazel-bin/raft/), or "" if none.
std::string DefaultSuiteBinary(const char* argv0) {
  std::error_code ec;
  std::vector<std::filesystem::path> dirs;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(self.parent_path());
  dirs.push_back(std::filesystem::path(argv0).parent_path());
  dirs.push_back("raft");  // `bazel run`: the runfiles tree
  for (const auto& dir : dirs) {
    const std::filesystem::path p = dir / "raft_test_sim_seed1";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

struct SuiteRun {
  double wall_seconds = 0;
  int passed = 0;
  int failed = 0;
  int exit_code = -1;
  std::string log;
};

// Counts gtest's per-test result lines: "[       OK ] A.B (3 ms)".
void CountResult(const std::string& line, SuiteRun* run) {
  if (!absl::EndsWith(line, " ms)") && !absl::EndsWith(line, " ms)\n")) return;
  if (absl::StartsWith(line, "[       OK ] ")) ++run->passed;
  if (absl::StartsWith(line, "[  FAILED  ] ")) ++run->failed;
}

SuiteRun RunSuite(const std::string& binary, absl::string_view runtime, const Flags& flags) {
  SuiteRun run;
  run.log = (std::filesystem::temp_directory_path() /
             absl::StrCat("raft_benchmark_suite_", runtime, ".", ::getpid(), ".log"))
                .string();
  const std::string command =
      absl::StrCat("LAB_RUNTIME=", runtime, runtime == "sim" ? " LAB_SEED=1 " : " ",
                   ShellQuote(binary), " --gtest_filter=", ShellQuote(flags.suite_filter),
                   " 2>&1");
  std::FILE* log = std::fopen(run.log.c_str(), "w");
  const auto t0 = std::chrono::steady_clock::now();
  std::FILE* out = ::popen(command.c_str(), "r");
  if (out == nullptr) {
    if (log != nullptr) std::fclose(log);
    return run;
  }
  std::string line;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, out) != nullptr) {
    if (log != nullptr) std::fputs(buf, log);
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      CountResult(line, &run);
      line.clear();
    }
  }
  const int status = ::pclose(out);
  run.wall_seconds = RealSeconds(t0);
  if (status != -1 && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  if (log != nullptr) std::fclose(log);
  return run;
}

void RunSuites(const Flags& flags, const char* argv0) {
  const std::string binary =
      flags.suite_binary.empty() ? DefaultSuiteBinary(argv0) : flags.suite_binary;
  std::printf("(b) Lab 2 suite wall time: %s --gtest_filter=%s\n\n",
              binary.empty() ? "(no binary)" : binary.c_str(), flags.suite_filter.c_str());
  if (binary.empty() || ::access(binary.c_str(), X_OK) != 0) {
    std::printf("  cannot run the suite binary: build it (bazel build //raft:raft_test_sim_seed1)"
                " or pass --suite_binary\n");
    return;
  }
  std::printf("  %-8s %7s %7s %5s %10s  %s\n", "runtime", "passed", "failed", "exit", "wall s",
              "log");
  std::fflush(stdout);
  for (absl::string_view runtime : {"sim", "threads"}) {
    if (runtime == "threads" && !flags.suite_threads) {
      std::printf("  %-8s (skipped; --suite_threads runs it, ~8 minutes)\n", "threads");
      continue;
    }
    const SuiteRun r = RunSuite(binary, runtime, flags);
    std::printf("  %-8s %7d %7d %5d %10.1f  %s\n", std::string(runtime).c_str(), r.passed,
                r.failed, r.exit_code, r.wall_seconds, r.log.c_str());
    std::fflush(stdout);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  std::printf("raft_benchmark: %u hardware threads\n\n", std::thread::hardware_concurrency());
  if (flags.throughput) RunThroughput(flags);
  if (flags.suite) RunSuites(flags, argv[0]);
  return 0;
}
