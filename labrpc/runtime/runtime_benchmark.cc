// labrpc/runtime/runtime_benchmark.cc
//
// What the runtime's basic operations cost, in each runtime:
//
//   bazel run -c opt //labrpc/runtime:runtime_benchmark
//
// Every benchmark runs inside one World whose main task drives the
// benchmark loop, with the runtime as its argument (0 = threads, 1 = sim).
//   Yield         task switches: two tasks taking turns with lab::Yield()
//   ChanPingPong  round trips between two tasks over unbuffered channels
//   MutexHandoff  lock/unlock under contention from 4 tasks
//   Timers        timer events: 100 tasks sleeping random short durations
//                 (1-100 us); in sim the clock jumps, in threads it is real
//   SpawnFinish   starting a task and waiting for it to end

#include <string>

#include "benchmark/benchmark.h"
#include "labrpc/runtime/benchmarking.h"
#include "labrpc/runtime/lab.h"

namespace {

using lab::benchmarking::InWorld;

void BM_Yield(benchmark::State& state) {
  InWorld(state, [&] {
    lab::TaskGroup others("others");  // killed and joined before main returns
    others.Go("other", [] {
      while (true) lab::Yield();
    });
    for (auto _ : state) lab::Yield();
  });
  state.SetItemsProcessed(state.iterations());
}

void BM_ChanPingPong(benchmark::State& state) {
  InWorld(state, [&] {
    lab::Chan<int> ping, pong;
    lab::TaskGroup others("others");
    others.Go("echo", [&] {
      while (std::optional<int> v = ping.Recv()) pong.Send(*v);
    });
    int i = 0;
    for (auto _ : state) {
      ping.Send(i++);
      benchmark::DoNotOptimize(pong.Recv());
    }
    ping.Close();
  });
  state.SetItemsProcessed(state.iterations());
}

void BM_MutexHandoff(benchmark::State& state) {
  InWorld(state, [&] {
    lab::Mutex mu;
    int64_t counter = 0;
    lab::TaskGroup others("others");
    for (int i = 0; i < 3; ++i) {
      others.Go("contender", [&] {
        while (true) {
          lab::MutexLock l(&mu);
          ++counter;
        }
      });
    }
    for (auto _ : state) {
      lab::MutexLock l(&mu);
      ++counter;
    }
    others.Kill();
    others.Join(absl::InfiniteDuration());
    benchmark::DoNotOptimize(counter);
  });
  state.SetItemsProcessed(state.iterations());
}

void BM_Timers(benchmark::State& state) {
  InWorld(state, [&] {
    constexpr int kSleepers = 100;
    int64_t events = 0;
    for (auto _ : state) {
      lab::Chan<int> done(kSleepers);
      for (int i = 0; i < kSleepers; ++i) {
        lab::Go("sleeper", [&] {
          for (int j = 0; j < 10; ++j) lab::SleepFor(absl::Microseconds(lab::RandInt(1, 101)));
          done.Send(1);
        });
      }
      for (int i = 0; i < kSleepers; ++i) done.Recv();
      events += kSleepers * 10;
    }
    state.SetItemsProcessed(events);
  });
}

void BM_SpawnFinish(benchmark::State& state) {
  InWorld(state, [&] {
    lab::Chan<int> done(1);
    for (auto _ : state) {
      lab::Go("short", [&] { done.Send(1); });
      done.Recv();
    }
  });
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_Yield)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_ChanPingPong)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_MutexHandoff)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_Timers)->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(BM_SpawnFinish)->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
