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

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "labrpc/bench_util.h"
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

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  labrpc::bench::FlagReader args("raft_benchmark", kUsage, argc, argv);
  while (args.Next()) {
    const absl::string_view name = args.name();
    const absl::string_view value = args.value();
    if (name == "--seconds") {
      double s = 0;
      if (!absl::SimpleAtod(value, &s) || s <= 0) args.BadValue();
      flags.length = absl::Seconds(s);
    } else if (name == "--clients") {
      flags.clients = static_cast<int>(args.Int(1));
    } else if (name == "--poll_us") {
      flags.poll = absl::Microseconds(args.Int(1));
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
      args.Unknown();
    }
  }
  return flags;
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
  Throughput result;
  result.error = labrpc::bench::RunInWorld<raft::TestFailed>(kind, [&] {
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
    result.real_seconds = labrpc::bench::RealSeconds(real0);
    result.runtime_seconds = absl::ToDoubleSeconds(lab::Now() - t0);
    result.rpcs = cfg.RpcTotal() - rpcs0;
    result.commands = committed.load();
    result.lost = lost.load();
    cfg.CheckFailed();
  });
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

void RunSuites(const Flags& flags, const char* argv0) {
  labrpc::bench::SuiteTable table;
  table.title = "(b) Lab 2 suite wall time";
  table.binary = flags.suite_binary.empty()
                     ? labrpc::bench::DefaultSuiteBinary(argv0, "raft", "raft_test_sim_seed1")
                     : flags.suite_binary;
  table.filter = flags.suite_filter;
  table.build_target = "//raft:raft_test_sim_seed1";
  table.log_prefix = "raft_benchmark_suite_";
  table.threads = flags.suite_threads;
  table.threads_time = "~8 minutes";
  labrpc::bench::PrintSuiteTable(table);
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  std::printf("raft_benchmark: %u hardware threads\n\n", std::thread::hardware_concurrency());
  if (flags.throughput) RunThroughput(flags);
  if (flags.suite) RunSuites(flags, argv[0]);
  return 0;
}
