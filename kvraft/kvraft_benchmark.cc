// kvraft/kvraft_benchmark.cc
//
// How fast the KV service in kvraft/ (on the Raft in raft/) serves clerks,
// and how long the Lab 3 suite takes, in each runtime (framework, not
// student code). Prints three tables:
//
//   bazel build //kvraft:kvraft_benchmark
//   bazel-bin/kvraft/kvraft_benchmark                  # (a), (b), the sim suite
//   bazel-bin/kvraft/kvraft_benchmark --suite_threads  # also the threads suite (slow)
//   bazel-bin/kvraft/kvraft_benchmark --help
//
// Latency (a): the tester's cluster (kvraft::Config) of 3 servers on a
// reliable network, one clerk doing --ops sequential Appends to one key, as
// KV3A.Speed / KV3B.Speed do, without (3A) and with (3B, maxraftstate 1000)
// snapshots. Reported as time per operation in runtime time and in real
// time; in threads the two are the same clock.
//
// Throughput (b): 3 and 5 servers, 3A and 3B; --clients clerks, each
// Appending to or Getting its own key (half and half, at random) for
// --seconds of runtime time. Reported per runtime second and per real
// second. In sim a reliable network delivers in zero virtual time, so the
// virtual time an operation takes is mostly the persister's modelled write
// cost (labrpc/persister.h), which grows with the persisted Raft state.
//
// Suite (c): runs the Lab 3 test binary (KV3A and KV3B by default) as a
// subprocess with LAB_RUNTIME=sim LAB_SEED=1, and with --suite_threads also
// with LAB_RUNTIME=threads, and reports its wall time, its result and its
// slowest tests. Each run's output goes to a log file named in the table.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "kvraft/config.h"
#include "labrpc/bench_util.h"
#include "labrpc/runtime/lab.h"

namespace {

constexpr char kUsage[] = R"(Usage: kvraft_benchmark [FLAG...]

Measures the KV service in kvraft/ (on the Raft in raft/), in the threads and
the sim runtime (seed 1), on a reliable network, without snapshots (3A,
maxraftstate -1) and with them (3B, maxraftstate 1000):
  (a) latency: one clerk, --ops sequential Appends to one key, 3 servers (as
      the Speed tests); time per operation in runtime time and in real time;
  (b) throughput: --clients concurrent clerks, each Appending to or Getting
      its own key, for --seconds of runtime time, 3 and 5 servers;
      operations per runtime second and per real second;
  (c) the Lab 3 suite's wall time: runs the test binary as a subprocess with
      LAB_RUNTIME=sim LAB_SEED=1 (and, with --suite_threads, also with
      LAB_RUNTIME=threads and a fresh seed).
In threads, runtime time is real time. In sim it is virtual: the network
delivers in zero virtual time, and each persister write costs virtual time.

Flags:
  --ops=N             sequential Appends per latency run (default 1000);
                      a run stops early, and says so, before the tester's
                      120 s time limit
  --clients=N         concurrent clerks per throughput run (default 20)
  --seconds=S         runtime seconds per throughput run (default 2, at most 90)
  --suite_binary=P    the Lab 3 test binary (default: kvraft_test next to
                      this binary, e.g. bazel-bin/kvraft/kvraft_test)
  --suite_filter=F    gtest filter for the suite (default KV3A.*:KV3B.*)
  --suite_threads     also run the suite in the threads runtime: slow, about
                      7.5 minutes of wall time (off by default)
  --no_latency        skip (a)
  --no_throughput     skip (b)
  --no_suite          skip (c)
  --help              this text
)";

// A measurement ends this long before the tester's time limit, whose
// watchdog would otherwise fail it and stop the process.
constexpr absl::Duration kLimitMargin = absl::Seconds(20);
constexpr absl::Duration kMaxSeconds = absl::Seconds(90);
// The two lab parts: maxraftstate without and with snapshots (the suite's).
constexpr int64_t kMaxRaftState3A = -1;
constexpr int64_t kMaxRaftState3B = 1000;

struct Flags {
  int ops = 1000;
  int clients = 20;
  absl::Duration length = absl::Seconds(2);
  std::string suite_binary;
  std::string suite_filter = "KV3A.*:KV3B.*";
  bool suite_threads = false;
  bool latency = true;
  bool throughput = true;
  bool suite = true;
};

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  labrpc::bench::FlagReader args("kvraft_benchmark", kUsage, argc, argv);
  while (args.Next()) {
    const absl::string_view name = args.name();
    const absl::string_view value = args.value();
    if (name == "--ops") {
      flags.ops = static_cast<int>(args.Int(1, 1000000));
    } else if (name == "--clients") {
      flags.clients = static_cast<int>(args.Int(1, 1000));
    } else if (name == "--seconds") {
      double s = 0;
      if (!absl::SimpleAtod(value, &s) || s <= 0 || absl::Seconds(s) > kMaxSeconds) {
        args.BadValue(" (0 < S <= 90)");
      }
      flags.length = absl::Seconds(s);
    } else if (name == "--suite_binary") {
      flags.suite_binary = std::string(value);
    } else if (name == "--suite_filter") {
      flags.suite_filter = std::string(value);
    } else if (name == "--suite_threads") {
      flags.suite_threads = true;
    } else if (name == "--no_latency") {
      flags.latency = false;
    } else if (name == "--no_throughput") {
      flags.throughput = false;
    } else if (name == "--no_suite") {
      flags.suite = false;
    } else {
      args.Unknown();
    }
  }
  return flags;
}

const char* PartName(int64_t maxraftstate) { return maxraftstate < 0 ? "3A" : "3B"; }

// --- (a) Latency: one clerk, sequential Appends ---------------------------------

struct Latency {
  int64_t ops = 0;              // Appends done (fewer than asked if stopped early)
  bool stopped_early = false;   // the tester's time limit came near
  double runtime_seconds = 0;
  double real_seconds = 0;
  int64_t raft_state_bytes = 0; // the largest persisted Raft state at the end
  int64_t snapshot_bytes = 0;   // the largest snapshot at the end
  std::string error;
};

Latency MeasureLatency(lab::RuntimeKind kind, int64_t maxraftstate, const Flags& flags) {
  Latency result;
  result.error = labrpc::bench::RunInWorld<kvraft::TestFailed>(kind, [&] {
    const absl::Time config_start = lab::Now();
    kvraft::Config cfg(3, /*unreliable=*/false, maxraftstate);
    kvraft::Config::Client* ck = cfg.MakeClient(cfg.All());
    // The first operation waits for a leader and readies the servers.
    cfg.Get(ck, "x");
    const absl::Time stop = config_start + kvraft::kTestTimeLimit - kLimitMargin;
    std::string expected;
    const absl::Time t0 = lab::Now();
    const auto real0 = std::chrono::steady_clock::now();
    for (int i = 0; i < flags.ops; ++i) {
      if (lab::Now() >= stop) {
        result.stopped_early = true;
        break;
      }
      const std::string element = absl::StrCat("x 0 ", i, " y");
      cfg.Append(ck, "x", element);
      expected += element;
      ++result.ops;
    }
    result.real_seconds = labrpc::bench::RealSeconds(real0);
    result.runtime_seconds = absl::ToDoubleSeconds(lab::Now() - t0);
    // Every Append took effect exactly once, in order.
    const std::string got = cfg.Get(ck, "x");
    if (got != expected) {
      cfg.Fail(absl::StrCat("key x holds ", got.size(), " bytes after the Appends, expected ",
                            expected.size(), got.size() == expected.size() ? " (different)" : ""));
    }
    result.raft_state_bytes = cfg.LogSize();
    result.snapshot_bytes = cfg.SnapshotSize();
    cfg.CheckFailed();
  });
  return result;
}

void RunLatency(const Flags& flags) {
  std::printf("(a) Latency: 3 servers, reliable network, one clerk, %d sequential Appends to "
              "one key (as the Speed tests, whose limit is 33.3ms/op)\n\n",
              flags.ops);
  std::printf("  %-8s %4s %6s %15s %12s %10s %8s %11s %10s\n", "runtime", "part", "ops",
              "ms/op(runtime)", "ms/op(real)", "runtime s", "real s", "raft bytes",
              "snap bytes");
  std::fflush(stdout);
  for (lab::RuntimeKind kind : {lab::RuntimeKind::kThreads, lab::RuntimeKind::kSim}) {
    for (int64_t maxraftstate : {kMaxRaftState3A, kMaxRaftState3B}) {
      const Latency l = MeasureLatency(kind, maxraftstate, flags);
      const std::string name(lab::RuntimeName(kind));
      if (!l.error.empty()) {
        std::printf("  %-8s %4s  failed: %s\n", name.c_str(), PartName(maxraftstate),
                    l.error.c_str());
        std::fflush(stdout);
        continue;
      }
      const double ops = static_cast<double>(std::max<int64_t>(l.ops, 1));
      std::printf("  %-8s %4s %6lld %15.3f %12.3f %10.2f %8.2f %11lld %10lld%s\n", name.c_str(),
                  PartName(maxraftstate), static_cast<long long>(l.ops),
                  1000 * l.runtime_seconds / ops, 1000 * l.real_seconds / ops, l.runtime_seconds,
                  l.real_seconds, static_cast<long long>(l.raft_state_bytes),
                  static_cast<long long>(l.snapshot_bytes),
                  l.stopped_early ? "  (stopped early: time limit)" : "");
      std::fflush(stdout);
    }
  }
  std::printf("\n  raft/snap bytes: the largest persisted Raft state and snapshot at the end "
              "(3B keeps the state near maxraftstate=%lld).\n\n",
              static_cast<long long>(kMaxRaftState3B));
}

// --- (b) Throughput: many clerks -------------------------------------------------

struct Throughput {
  int64_t ops = 0;
  int64_t appends = 0;
  double runtime_seconds = 0;
  double real_seconds = 0;
  double latency_seconds = 0;  // summed over operations, runtime time
  std::string error;
};

Throughput MeasureThroughput(lab::RuntimeKind kind, int servers, int64_t maxraftstate,
                             const Flags& flags) {
  Throughput result;
  result.error = labrpc::bench::RunInWorld<kvraft::TestFailed>(kind, [&] {
    kvraft::Config cfg(servers, /*unreliable=*/false, maxraftstate);
    // Each clerk starts its key empty (as GenericTest), which also waits
    // for a leader; not timed.
    std::vector<kvraft::Config::Client*> clients;
    for (int c = 0; c < flags.clients; ++c) {
      clients.push_back(cfg.MakeClient(cfg.All()));
      cfg.Put(clients.back(), std::to_string(c), "");
    }
    std::atomic<int64_t> ops{0};
    std::atomic<int64_t> appends{0};
    std::atomic<int64_t> latency_us{0};
    const absl::Time t0 = lab::Now();
    const absl::Time deadline = t0 + flags.length;
    const auto real0 = std::chrono::steady_clock::now();
    kvraft::WaitGroup wg;
    for (int c = 0; c < flags.clients; ++c) {
      cfg.Go(
          absl::StrCat("client ", c),
          [&, c] {
            kvraft::Config::Client* ck = clients[static_cast<size_t>(c)];
            const std::string key = std::to_string(c);
            std::string last;  // what the key must hold
            for (int j = 0; lab::Now() < deadline; ++j) {
              const absl::Time start = lab::Now();
              if (lab::RandInt(0, 2) == 0) {
                const std::string element = absl::StrCat("x ", c, " ", j, " y");
                cfg.Append(ck, key, element);
                last += element;
                ++appends;
              } else {
                const std::string v = cfg.Get(ck, key);
                if (v != last) {
                  cfg.Fail(absl::StrCat("client ", c, ": Get(", key, ") returned ", v.size(),
                                        " bytes, expected ", last.size()));
                }
              }
              latency_us += absl::ToInt64Microseconds(lab::Now() - start);
              ++ops;
            }
          },
          &wg);
    }
    wg.Wait();
    result.real_seconds = labrpc::bench::RealSeconds(real0);
    result.runtime_seconds = absl::ToDoubleSeconds(lab::Now() - t0);
    result.ops = ops.load();
    result.appends = appends.load();
    result.latency_seconds = static_cast<double>(latency_us.load()) / 1e6;
    cfg.CheckFailed();
  });
  return result;
}

void RunThroughput(const Flags& flags) {
  std::printf("(b) Throughput: reliable network, %d clerks, each Appending to or Getting its "
              "own key, %s of runtime time per run\n\n",
              flags.clients, absl::FormatDuration(flags.length).c_str());
  std::printf("  %-8s %7s %4s %7s %7s %10s %8s %14s %11s %13s\n", "runtime", "servers", "part",
              "ops", "appends", "runtime s", "real s", "ops/runtime-s", "ops/real-s",
              "ms/op(runtime)");
  std::fflush(stdout);
  for (lab::RuntimeKind kind : {lab::RuntimeKind::kThreads, lab::RuntimeKind::kSim}) {
    for (int servers : {3, 5}) {
      for (int64_t maxraftstate : {kMaxRaftState3A, kMaxRaftState3B}) {
        const Throughput t = MeasureThroughput(kind, servers, maxraftstate, flags);
        const std::string name(lab::RuntimeName(kind));
        if (!t.error.empty()) {
          std::printf("  %-8s %7d %4s  failed: %s\n", name.c_str(), servers,
                      PartName(maxraftstate), t.error.c_str());
          std::fflush(stdout);
          continue;
        }
        const double ops = static_cast<double>(t.ops);
        std::printf("  %-8s %7d %4s %7lld %7lld %10.2f %8.2f %14.0f %11.0f %13.2f\n",
                    name.c_str(), servers, PartName(maxraftstate), static_cast<long long>(t.ops),
                    static_cast<long long>(t.appends), t.runtime_seconds, t.real_seconds,
                    ops / t.runtime_seconds, ops / t.real_seconds,
                    t.ops > 0 ? 1000 * t.latency_seconds / ops : 0.0);
        std::fflush(stdout);
      }
    }
  }
  std::printf("\n  ms/op(runtime): a clerk's mean time per operation. A run ends when the last "
              "operation under way\n  at the deadline returns, so runtime s can exceed the "
              "length asked for.\n\n");
}

// --- (c) Suite wall time --------------------------------------------------------

void RunSuites(const Flags& flags, const char* argv0) {
  labrpc::bench::SuiteTable table;
  table.title = "(c) Lab 3 suite wall time";
  table.binary = flags.suite_binary.empty()
                     ? labrpc::bench::DefaultSuiteBinary(argv0, "kvraft", "kvraft_test")
                     : flags.suite_binary;
  table.filter = flags.suite_filter;
  table.build_target = "//kvraft:kvraft_test";
  table.log_prefix = "kvraft_benchmark_suite_";
  table.threads = flags.suite_threads;
  table.threads_time = "about 7.5 minutes";
  table.slowest = 3;
  labrpc::bench::PrintSuiteTable(table);
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  std::printf("kvraft_benchmark: %u hardware threads\n\n", std::thread::hardware_concurrency());
  if (flags.latency) RunLatency(flags);
  if (flags.throughput) RunThroughput(flags);
  if (flags.suite) RunSuites(flags, argv[0]);
  return 0;
}
