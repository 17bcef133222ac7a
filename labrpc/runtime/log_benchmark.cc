// labrpc/runtime/log_benchmark.cc
//
// What LAB_LOG costs: a call whose topic is off (the target is <= 5 ns: it
// must not format its arguments), and, for comparison, one that formats a
// line for the trace.
//
//   bazel run -c opt //labrpc/runtime:log_benchmark

#include <string>

#include "benchmark/benchmark.h"
#include "labrpc/runtime/log.h"
#include "labrpc/runtime/trace.h"

namespace {

void BM_LogOff(benchmark::State& state) {
  (void)lab::SetLogTopics("");
  int64_t term = 7;
  std::string who = "raft-1";
  for (auto _ : state) {
    LAB_LOG(VOTE, "granted my vote to %s in term %d", who, term);
    benchmark::DoNotOptimize(term);
  }
}
BENCHMARK(BM_LogOff);

void BM_LogOffWhileOtherTopicsOn(benchmark::State& state) {
  (void)lab::SetLogTopics("LEAD,COMMIT");
  int64_t term = 7;
  for (auto _ : state) {
    LAB_LOG(VOTE, "granted my vote in term %d", term);
    benchmark::DoNotOptimize(term);
  }
  (void)lab::SetLogTopics("");
}
BENCHMARK(BM_LogOffWhileOtherTopicsOn);

// Recorded into a trace (outside a world: time 0, peer "-").
void BM_LogIntoTrace(benchmark::State& state) {
  lab::trace::BeginRun(lab::trace::RunInfo{"bench", "sim", 1, ""}, lab::trace::Options{});
  int64_t term = 7;
  for (auto _ : state) {
    LAB_LOG(VOTE, "granted my vote in term %d", term);
  }
  (void)lab::trace::EndRun(true);
}
BENCHMARK(BM_LogIntoTrace);

}  // namespace

BENCHMARK_MAIN();
