// labrpc/runtime/benchmarking.h
//
// For Google Benchmark programs that measure lab code in both runtimes
// (runtime_benchmark.cc, labrpc/network_benchmark.cc): a benchmark's first
// argument picks the runtime (0 = threads, 1 = sim).
//
//   void BM_Yield(benchmark::State& state) {
//     lab::benchmarking::InWorld(state, [&] {
//       for (auto _ : state) lab::Yield();
//     });
//   }
//   BENCHMARK(BM_Yield)->Arg(0)->Arg(1)->UseRealTime();
//
// InWorld() runs the body as the main task of a fresh world (seed 1, not
// announced), labels the result with the runtime's name, and reports the
// world's error, if it ends with one, as the benchmark's.

#ifndef LABRPC_RUNTIME_BENCHMARKING_H_
#define LABRPC_RUNTIME_BENCHMARKING_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "benchmark/benchmark.h"
#include "labrpc/runtime/lab.h"

namespace lab::benchmarking {

inline void InWorld(benchmark::State& state, const std::function<void()>& body) {
  WorldOptions options;
  options.runtime = state.range(0) == 1 ? RuntimeKind::kSim : RuntimeKind::kThreads;
  options.seed = 1;
  options.announce = false;
  World world(options);
  absl::Status status = world.Run(body);
  if (!status.ok()) state.SkipWithError(std::string(status.message()).c_str());
  state.SetLabel(std::string(RuntimeName(options.runtime)));
}

}  // namespace lab::benchmarking

#endif  // LABRPC_RUNTIME_BENCHMARKING_H_
