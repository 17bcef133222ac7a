// labrpc/runtime/thread_runtime.cc
//
// The threads runtime: every task runs on an OS thread, time is the wall
// clock. Threads are reused: a task's thread goes back to an idle pool when
// the task ends (a thread costs ~45 us to create here; an RPC handler is a
// task). Each task parks on its own mutex and condition variable, so a kill
// can always wake it. At shutdown every task is killed; tasks still running
// after options.shutdown_grace are named and the process exits, since a
// thread cannot be stopped from outside and what it uses cannot be freed.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "labrpc/runtime/internal.h"
#include "labrpc/runtime/race.h"

namespace lab::internal {
namespace {

// Where a task parks. One per OS thread, living as long as the runtime, so
// a waker may still touch it after the task it woke has ended. A waker sets
// `permit`, then wakes the thread only if it is `sleeping`; the parked side
// sets `sleeping`, then re-checks `permit` before it waits. Both are
// sequentially consistent, so one of the two always sees the other's write
// and no wake-up is lost.
struct Parker {
  std::atomic<bool> permit{false};
  std::atomic<bool> sleeping{false};
  std::mutex mu;  // held from `sleeping` until the wait starts
  std::condition_variable cv;

  void Wake() {
    if (sleeping.load()) {
      std::lock_guard<std::mutex> l(mu);
      cv.notify_one();
    }
  }
};

struct ThreadTask : TaskBase {
  ThreadTask(Runtime* rt, uint64_t id, std::string name, std::shared_ptr<Group> group,
             Parker* parker)
      : TaskBase(rt, id, std::move(name), std::move(group)), parker(parker) {
    wake_handle = parker;
  }
  std::function<void()> fn;
  Parker* const parker;  // of the thread the task runs on
};

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A hand-off between two threads that are both on a CPU takes well under a
// microsecond; a sleep/wake pair takes tens of microseconds. So a parking
// task first spins this many times (a few microseconds) for its permit.
constexpr int kParkSpins = 200;

class ThreadRuntime : public Runtime {
 public:
  explicit ThreadRuntime(const WorldOptions& options) : Runtime(options) {}

  ~ThreadRuntime() override { StopWorkers(); }

  RuntimeKind kind() const override { return RuntimeKind::kThreads; }

  absl::Status Run(std::function<void()> main) override;

  void Spawn(std::shared_ptr<Group> group, std::string name, std::function<void()> fn) override {
    Worker* w = TakeWorker();
    ThreadTask* t;
    {
      std::lock_guard<std::mutex> l(group->mu);
      if (group->killed) {
        std::lock_guard<std::mutex> pl(pool_mu_);
        idle_.push_back(w);
        return;
      }
      t = new ThreadTask(this, next_id_.fetch_add(1), std::move(name), group, &w->parker);
      t->fn = std::move(fn);
      group->tasks[t->id] = t;
    }
    {
      std::lock_guard<std::mutex> l(live_mu_);
      ++live_;
    }
    std::lock_guard<std::mutex> l(w->mu);
    w->job = t;
    if (!w->thread.joinable()) {
      w->thread = std::thread([this, w] { WorkerLoop(w); });
    } else {
      w->cv.notify_one();
    }
  }

  absl::Time Now() override { return absl::Now(); }

  void Yield() override {
    TaskBase* t = CurrentTaskOrDie("lab::Yield");
    if (t->killed.load() && !MayNotThrow(t)) throw TaskKilled();
    std::this_thread::yield();
  }

  Wake Park(absl::Time deadline, const char* reason, bool interruptible) override {
    auto* t = static_cast<ThreadTask*>(CurrentTaskOrDie(reason));
    Parker& p = *t->parker;
    interruptible = interruptible && !MayNotThrow(t);
    for (int i = 0; i < kParkSpins; ++i) {
      if (p.permit.load(std::memory_order_relaxed) && p.permit.exchange(false)) {
        return Wake::kNotified;
      }
      if (interruptible && t->killed.load(std::memory_order_relaxed)) return Wake::kKilled;
      CpuRelax();
    }
    std::unique_lock<std::mutex> l(p.mu);
    t->blocked_in.store(reason);
    p.sleeping.store(true);
    Wake wake;
    while (true) {
      if (p.permit.exchange(false)) {
        wake = Wake::kNotified;
        break;
      }
      if (interruptible && t->killed.load()) {
        wake = Wake::kKilled;
        break;
      }
      if (deadline == absl::InfiniteFuture()) {
        p.cv.wait(l);
      } else {
        if (absl::Now() >= deadline) {
          wake = Wake::kTimeout;
          break;
        }
        p.cv.wait_until(l, absl::ToChronoTime(deadline));
      }
    }
    p.sleeping.store(false);
    t->blocked_in.store(nullptr);
    return wake;
  }

  void Unpark(void* wake_handle) override {
    auto* p = static_cast<Parker*>(wake_handle);
    p->permit.store(true);
    p->Wake();
  }

  void Kill(TaskBase* task) override {
    auto* t = static_cast<ThreadTask*>(task);
    t->killed.store(true);
    t->parker->Wake();
  }

  uint64_t Fingerprint() const override { return 0; }

 private:
  // An OS thread that runs tasks one after another.
  struct Worker {
    Parker parker;  // for the task it runs
    std::thread thread;
    std::mutex mu;
    std::condition_variable cv;
    ThreadTask* job = nullptr;  // guarded by mu
    bool quit = false;          // guarded by mu
  };

  // An idle worker, or a new one (its thread starts with its first job).
  Worker* TakeWorker() {
    std::lock_guard<std::mutex> l(pool_mu_);
    if (!idle_.empty()) {
      Worker* w = idle_.back();
      idle_.pop_back();
      return w;
    }
    workers_.push_back(std::make_unique<Worker>());
    return workers_.back().get();
  }

  void WorkerLoop(Worker* w) {
    while (true) {
      ThreadTask* t;
      {
        std::unique_lock<std::mutex> l(w->mu);
        w->cv.wait(l, [w] { return w->job != nullptr || w->quit; });
        if (w->job == nullptr) return;
        t = w->job;
        w->job = nullptr;
      }
      RunTask(t);
      std::lock_guard<std::mutex> l(pool_mu_);
      idle_.push_back(w);
    }
  }

  void RunTask(ThreadTask* t) {
    SetCurrentTask(t);
#ifdef LAB_TSAN
    // For ThreadSanitizer's reports: the thread is named after its task
    // (threads are reused, so a report may name a thread's later task).
    race::SetFiberName(race::CurrentFiber(), absl::StrCat(t->name, " (task ", t->id, ")").c_str());
#endif
    RunTaskBody(t, t->fn);
    t->exiting = true;
    t->fn = nullptr;  // destroys captures inside the task, which must not throw
    SetCurrentTask(nullptr);
    LeaveGroup(t);
    delete t;
    std::lock_guard<std::mutex> l(live_mu_);
    if (--live_ == 0) live_cv_.notify_all();
  }

  void StopWorkers() {
    std::vector<std::unique_ptr<Worker>> workers;
    {
      std::lock_guard<std::mutex> l(pool_mu_);
      workers.swap(workers_);
      idle_.clear();
    }
    for (auto& w : workers) {
      {
        std::lock_guard<std::mutex> l(w->mu);
        w->quit = true;
      }
      w->cv.notify_one();
    }
    for (auto& w : workers) {
      if (w->thread.joinable()) w->thread.join();
    }
  }

  std::atomic<uint64_t> next_id_{1};
  Parker main_parker_;  // for the task "main", on the thread that called Run()

  std::mutex live_mu_;
  std::condition_variable live_cv_;
  int live_ = 0;  // tasks started and not ended; guarded by live_mu_

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Worker>> workers_;  // guarded by pool_mu_
  std::vector<Worker*> idle_;                     // guarded by pool_mu_
};

absl::Status ThreadRuntime::Run(std::function<void()> main) {
  auto* t = new ThreadTask(this, next_id_.fetch_add(1), "main", root_, &main_parker_);
  {
    std::lock_guard<std::mutex> l(root_->mu);
    root_->tasks[t->id] = t;
  }
  {
    std::lock_guard<std::mutex> l(live_mu_);
    ++live_;
  }
  t->fn = std::move(main);
  RunTask(t);

  // Shutdown: kill whatever is left and wait for it.
  KillAllGroups();
  {
    std::unique_lock<std::mutex> l(live_mu_);
    if (!live_cv_.wait_for(l, absl::ToChronoNanoseconds(options_.shutdown_grace),
                           [this] { return live_ == 0; })) {
      l.unlock();
      std::fprintf(stderr,
                   "lab: tasks still running %s after shutdown killed them (a task that never "
                   "makes a runtime call cannot be stopped; seed %llu):\n%s",
                   absl::FormatDuration(options_.shutdown_grace).c_str(),
                   static_cast<unsigned long long>(options_.seed), DescribeTasks().c_str());
      std::fflush(stderr);
      std::_Exit(kStuckTaskExitCode);
    }
  }
  StopWorkers();
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<Runtime> NewThreadRuntime(const WorldOptions& options) {
  return std::make_unique<ThreadRuntime>(options);
}

}  // namespace lab::internal
