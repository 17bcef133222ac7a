// linearizability/kv_benchmark.cc
//
// What CheckKvHistory costs on long random legal histories (random_history.h:
// clients call Get/Put/Append on random keys, calls overlap, each takes
// effect at a random instant within its call):
//
//   bazel run //linearizability:kv_benchmark
//   bazel run //linearizability:kv_benchmark -- --benchmark_filter=Append
//
// Arguments: operations, clients, keys. Calls
// take 1us-50ms and clients wait 0-5ms between calls, so about `clients`
// calls are in flight at any time, spread over the keys.
//   Mixed/...    40% Get, 20% Put, 40% Append: values stay short
//   Append/...   20% Get, no Put: values only grow (to tens of KB per key)
//   .../Parallel one thread per core (the default); the others one thread.
// items_per_second is operations checked per second (of CPU time, but of
// real time for .../Parallel); the history is built once, outside the
// timing. The budget is a minute, and a benchmark
// whose verdict is not ok reports an error.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "linearizability/kv.h"
#include "linearizability/random_history.h"

namespace linearizability {
namespace {

void Run(benchmark::State& state, int get_percent, int put_percent, int workers) {
  const RandomHistoryOptions options{.operations = static_cast<int>(state.range(0)),
                                     .clients = static_cast<int>(state.range(1)),
                                     .keys = static_cast<int>(state.range(2)),
                                     .get_percent = get_percent,
                                     .put_percent = put_percent,
                                     .seed = 42};
  const std::vector<KvOperation> history = RandomLegalHistory(options);
  size_t longest = 0;
  for (const KvOperation& op : history) longest = std::max(longest, op.output.size());
  const KvCheckOptions check{.budget = absl::Minutes(1), .workers = workers};
  for (auto _ : state) {
    const KvCheckResult r = CheckKvHistory(history, check);
    if (r.verdict != Verdict::kOk) {
      state.SkipWithError(r.summary.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(history.size()));
  state.SetLabel(absl::StrCat("longest value ", longest, " B"));
}

void BM_Mixed(benchmark::State& state) { Run(state, 40, 20, 1); }
void BM_Append(benchmark::State& state) { Run(state, 20, 0, 1); }
void BM_MixedParallel(benchmark::State& state) { Run(state, 40, 20, 0); }
void BM_AppendParallel(benchmark::State& state) { Run(state, 20, 0, 0); }

// One thread. Few keys (every client on one key: about 5 calls in flight on
// it) and many keys (15 clients; with 10 keys about 1.5 calls per key).
BENCHMARK(BM_Mixed)
    ->ArgNames({"ops", "clients", "keys"})
    ->Args({1000, 5, 1})
    ->Args({10000, 5, 1})
    ->Args({10000, 15, 10})
    ->Args({50000, 15, 10})
    ->Args({50000, 15, 100})
    ->Args({50000, 15, 1000})
    ->Args({2000, 8, 1})  // 8 calls always in flight on one key: near the limit
    ->Unit(benchmark::kMillisecond);

// Values grow to tens of kilobytes per key.
BENCHMARK(BM_Append)
    ->ArgNames({"ops", "clients", "keys"})
    ->Args({1000, 5, 1})
    ->Args({10000, 5, 1})
    ->Args({10000, 15, 1})
    ->Args({50000, 15, 10})
    ->Unit(benchmark::kMillisecond);

// One thread per core, keys searched in parallel (real time).
BENCHMARK(BM_MixedParallel)
    ->ArgNames({"ops", "clients", "keys"})
    ->Args({50000, 15, 10})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AppendParallel)
    ->ArgNames({"ops", "clients", "keys"})
    ->Args({50000, 15, 10})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace linearizability
