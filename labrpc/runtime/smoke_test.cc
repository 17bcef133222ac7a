#include <cstdio>
#include "labrpc/runtime/lab.h"
int main() {
  for (auto kind : {lab::RuntimeKind::kSim, lab::RuntimeKind::kThreads}) {
    lab::WorldOptions o; o.runtime = kind; o.seed = 7;
    lab::World w(o);
    absl::Status s = w.Run([] {
      lab::Chan<int> ch;
      lab::Mutex mu; lab::CondVar cv; int n = 0;
      for (int i = 0; i < 10; i++) lab::Go("p" + std::to_string(i), [&, i] { lab::SleepFor(absl::Milliseconds(10 * i)); ch.Send(i); lab::MutexLock l(&mu); n++; cv.NotifyAll(); });
      int sum = 0;
      for (int i = 0; i < 10; i++) sum += *ch.Recv();
      lab::MutexLock l(&mu);
      while (n < 10) cv.Wait(&mu);
      std::printf("sum=%d\n", sum);
    });
    std::printf("status=%s fp=%llx elapsed=%s\n", s.ToString().c_str(), (unsigned long long)w.fingerprint(), absl::FormatDuration(w.elapsed()).c_str());
  }
}
