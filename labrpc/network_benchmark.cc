// labrpc/network_benchmark.cc
//
// What an RPC through a reliable labrpc network costs, in each runtime, and
// what the codec costs on a typical AppendEntries:
//
//   bazel run -c opt //labrpc:network_benchmark
//
// Call benchmarks run inside one World whose main task drives the benchmark
// loop; the first argument is the runtime (0 = threads, 1 = sim), the second
// the number of client tasks.
//   CallSmall/R/1   one client, sequential calls with an int argument
//   CallLarge/R/1   the same with a 4 KiB std::string argument
//   CallSmall/R/8   8 client tasks calling concurrently (one iteration = a
//   CallLarge/R/8   batch of calls by each client; items = calls)
//   Encode/Decode   AppendEntries with 10 entries of 100-byte commands
//
// items_per_second is RPCs per second. The Go labrpc measured 22.8 us per
// sequential call on the course machine (TESTS.md).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "labrpc/codec.h"
#include "labrpc/network.h"
#include "labrpc/runtime/benchmarking.h"
#include "labrpc/runtime/lab.h"

namespace {

using lab::benchmarking::InWorld;

struct SmallArgs {
  int64_t x = 0;
  template <class A>
  void serialize(A& a) {
    a(x);
  }
};

struct LargeArgs {
  std::string data;
  template <class A>
  void serialize(A& a) {
    a(data);
  }
};

struct EchoReply {
  int64_t x = 0;
  template <class A>
  void serialize(A& a) {
    a(x);
  }
};

class Echo {
 public:
  void Small(const SmallArgs& args, EchoReply* reply) { reply->x = args.x + 1; }
  void Large(const LargeArgs& args, EchoReply* reply) {
    reply->x = static_cast<int64_t>(args.data.size());
  }
};

// One server "server" with service Echo, and `clients` ends to it.
struct Setup {
  explicit Setup(int clients) {
    auto svc = std::make_shared<labrpc::Service>("Echo");
    svc->Register("Small", &echo, &Echo::Small);
    svc->Register("Large", &echo, &Echo::Large);
    auto server = std::make_shared<labrpc::Server>();
    server->AddService(svc);
    net.AddServer("server", server);
    for (int i = 0; i < clients; ++i) {
      std::string name = absl::StrCat("client-", i);
      ends.push_back(net.MakeEnd(name));
      net.Connect(name, "server");
      net.Enable(name, true);
    }
  }
  Echo echo;
  labrpc::Network net;
  std::vector<std::shared_ptr<labrpc::ClientEnd>> ends;
};

template <bool kLarge>
bool OneCall(labrpc::ClientEnd& end, int64_t i, const std::string& blob) {
  EchoReply reply;
  bool ok;
  if constexpr (kLarge) {
    LargeArgs args{blob};
    ok = end.Call("Echo.Large", args, &reply);
    ok = ok && reply.x == static_cast<int64_t>(blob.size());
  } else {
    ok = end.Call("Echo.Small", SmallArgs{i}, &reply);
    ok = ok && reply.x == i + 1;
  }
  return ok;
}

// Calls each client makes per iteration when there are several, so the
// channel hand-offs that start a batch are a small part of its cost.
constexpr int kBatch = 16;

template <bool kLarge>
void BM_Call(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(1));
  const std::string blob(4096, 'b');
  int64_t calls = 0;
  InWorld(state, [&] {
    Setup setup(clients);
    bool failed = false;
    if (clients == 1) {
      int64_t i = 0;
      for (auto _ : state) {
        if (!OneCall<kLarge>(*setup.ends[0], i++, blob)) failed = true;
      }
      calls = i;
    } else {
      lab::TaskGroup workers("clients");
      std::vector<std::unique_ptr<lab::Chan<int>>> start;
      lab::Chan<bool> done(clients);
      for (int c = 0; c < clients; ++c) {
        start.push_back(std::make_unique<lab::Chan<int>>(1));
        workers.Go(absl::StrCat("client-", c), [&, c] {
          int64_t i = 0;
          while (start[c]->Recv()) {
            bool ok = true;
            for (int k = 0; k < kBatch; ++k) ok = OneCall<kLarge>(*setup.ends[c], i++, blob) && ok;
            done.Send(ok);
          }
        });
      }
      for (auto _ : state) {
        for (int c = 0; c < clients; ++c) start[c]->Send(1);
        for (int c = 0; c < clients; ++c) {
          if (!*done.Recv()) failed = true;
        }
        calls += int64_t{clients} * kBatch;
      }
      for (int c = 0; c < clients; ++c) start[c]->Close();
      workers.Join(absl::InfiniteDuration());
    }
    if (failed) state.SkipWithError("a call on a reliable network failed");
  });
  state.SetItemsProcessed(calls);
  if (kLarge) state.SetBytesProcessed(calls * 4096);
}

struct LogEntry {
  int64_t term = 0;
  std::string command;
  template <class A>
  void serialize(A& a) {
    a(term, command);
  }
};

struct AppendEntriesArgs {
  int64_t term = 0;
  int leader_id = 0;
  int64_t prev_log_index = 0;
  int64_t prev_log_term = 0;
  std::vector<LogEntry> entries;
  int64_t leader_commit = 0;
  template <class A>
  void serialize(A& a) {
    a(term, leader_id, prev_log_index, prev_log_term, entries, leader_commit);
  }
};

AppendEntriesArgs TypicalAppend() {
  AppendEntriesArgs a;
  a.term = 12;
  a.leader_id = 3;
  a.prev_log_index = 1041;
  a.prev_log_term = 11;
  for (int i = 0; i < 10; ++i) a.entries.push_back({12, std::string(100, static_cast<char>('a' + i))});
  a.leader_commit = 1040;
  return a;
}

void BM_EncodeAppendEntries(benchmark::State& state) {
  const AppendEntriesArgs args = TypicalAppend();
  size_t size = 0;
  for (auto _ : state) {
    std::string bytes = labrpc::Encode(args);
    size = bytes.size();
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(absl::StrCat(size, " bytes"));
}

void BM_DecodeAppendEntries(benchmark::State& state) {
  const std::string bytes = labrpc::Encode(TypicalAppend());
  for (auto _ : state) {
    AppendEntriesArgs out;
    absl::Status s = labrpc::Decode(bytes, &out);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(absl::StrCat(bytes.size(), " bytes"));
}

BENCHMARK_TEMPLATE(BM_Call, false)
    ->Name("CallSmall")
    ->ArgNames({"runtime", "clients"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({0, 8})
    ->Args({1, 8})
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_Call, true)
    ->Name("CallLarge")
    ->ArgNames({"runtime", "clients"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({0, 8})
    ->Args({1, 8})
    ->UseRealTime();
BENCHMARK(BM_EncodeAppendEntries)->UseRealTime();
BENCHMARK(BM_DecodeAppendEntries)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
