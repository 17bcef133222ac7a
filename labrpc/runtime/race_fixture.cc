// labrpc/runtime/race_fixture.cc
//
// Small lab programs for race_test: each runs one scenario in a world
// (LAB_RUNTIME, LAB_SEED) and exits 0. Built with --config=tsan, the racy
// ones must be reported by ThreadSanitizer and the others never.
//
//   race_fixture unlocked-counter   two tasks increment a counter, no lock (a race)
//   race_fixture locked-counter     the same under a lab::Mutex
//   race_fixture chan-handoff       a task fills a vector and sends it a signal
//                                   on a channel; the receiver then uses it
//   race_fixture chan-write-after-send   the same, but the sender writes
//                                   again after its send (a race)
//   race_fixture condvar-handoff    a task fills a vector, then sets a flag and
//                                   notifies a lab::CondVar; the waiter uses it
//   race_fixture spawn-and-join     main writes, a task group's task uses it,
//                                   main joins the group and reads again

#include <cstdio>
#include <string>
#include <vector>

#include "labrpc/runtime/lab.h"

namespace {

constexpr int kIncrements = 100;

// Sleeps a random short while, so the seed decides how the tasks interleave.
void Pause() { lab::SleepFor(absl::Microseconds(lab::RandInt(0, 100))); }

void UnlockedCounter() {
  int counter = 0;
  lab::TaskGroup group("counters");
  for (const char* name : {"incrementer-a", "incrementer-b"}) {
    group.Go(name, [&counter] {
      for (int i = 0; i < kIncrements; ++i) {
        Pause();
        ++counter;  // no lock: a data race
      }
    });
  }
  group.Join(absl::InfiniteDuration());
  std::printf("counter=%d\n", counter);
}

void LockedCounter() {
  lab::Mutex mu;
  int counter = 0;
  lab::TaskGroup group("counters");
  for (const char* name : {"incrementer-a", "incrementer-b"}) {
    group.Go(name, [&mu, &counter] {
      for (int i = 0; i < kIncrements; ++i) {
        Pause();
        lab::MutexLock l(&mu);
        ++counter;
      }
    });
  }
  group.Join(absl::InfiniteDuration());
  std::printf("counter=%d\n", counter);
}

void ChanHandoff(bool write_after_send) {
  std::vector<int> data;
  lab::Chan<bool> ready;
  lab::Chan<bool> done;
  lab::Go("producer", [&] {
    Pause();
    for (int i = 0; i < kIncrements; ++i) data.push_back(i);
    ready.Send(true);
    if (write_after_send) data[0] = -1;  // the receiver may be reading: a race
  });
  lab::Go("consumer", [&] {
    ready.Recv();
    Pause();
    long sum = 0;
    for (int v : data) sum += v;
    std::printf("sum=%ld\n", sum);
    done.Send(true);
  });
  done.Recv();
}

void CondVarHandoff() {
  lab::Mutex mu;
  lab::CondVar cv;
  bool ready = false;  // guarded by mu
  std::vector<int> data;
  lab::TaskGroup group("handoff");
  group.Go("producer", [&] {
    Pause();
    for (int i = 0; i < kIncrements; ++i) data.push_back(i);
    lab::MutexLock l(&mu);
    ready = true;
    cv.NotifyAll();
  });
  group.Go("consumer", [&] {
    {
      lab::MutexLock l(&mu);
      while (!ready) cv.Wait(&mu);
    }
    long sum = 0;
    for (int v : data) sum += v;
    std::printf("sum=%ld\n", sum);
  });
  group.Join(absl::InfiniteDuration());
}

void SpawnAndJoin() {
  std::vector<int> data(kIncrements, 1);
  {
    lab::TaskGroup group("workers");
    group.Go("worker", [&] {
      Pause();
      for (int& v : data) v *= 2;
    });
    group.Join(absl::InfiniteDuration());
  }
  data[0] = 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string scenario = argc == 2 ? argv[1] : "";
  std::function<void()> body;
  if (scenario == "unlocked-counter") body = UnlockedCounter;
  if (scenario == "locked-counter") body = LockedCounter;
  if (scenario == "chan-handoff") body = [] { ChanHandoff(false); };
  if (scenario == "chan-write-after-send") body = [] { ChanHandoff(true); };
  if (scenario == "condvar-handoff") body = CondVarHandoff;
  if (scenario == "spawn-and-join") body = SpawnAndJoin;
  if (!body) {
    std::fprintf(stderr,
                 "usage: race_fixture unlocked-counter|locked-counter|chan-handoff|"
                 "chan-write-after-send|condvar-handoff|spawn-and-join\n");
    return 2;
  }
  lab::World world(lab::WorldOptions::FromEnvOrDie());
  absl::Status status = world.Run(body);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
