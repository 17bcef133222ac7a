// labrpc/runtime/sim_runtime.cc
//
// The sim runtime: every task is a fiber on the OS thread that called
// World::Run. A scheduler loop runs one task at a time until it blocks or
// yields, then picks the next among the runnable tasks with a PRNG seeded
// from the world's seed. When no task is runnable the virtual clock jumps to
// the earliest timer. So a seed fixes the whole run, and a run takes as long
// as its computation, not as its sleeps.
//
// What real threads cannot do, this does: a deadlock (nothing runnable, no
// timer) is reported with every blocked task and what it waits on; a killed
// task never runs again before it unwinds; a task that runs for
// options.busy_limit of CPU time without a runtime call is reported by a
// watchdog thread, which ends the process; tasks that keep one another
// running for options.livelock_limit of real time, never all waiting (so
// virtual time stands still), are reported as a livelock (livelock.h).

#include <pthread.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <map>
#include <queue>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "labrpc/runtime/fiber.h"
#include "labrpc/runtime/internal.h"
#include "labrpc/runtime/race.h"
#include "labrpc/runtime/livelock.h"
#include "labrpc/runtime/trace.h"

namespace lab::internal {
namespace {

// Virtual time starts at a fixed instant so runs replay exactly.
const absl::Time kSimEpoch = absl::FromUnixSeconds(1'000'000'000);

// Shutdown gives killed tasks this many dispatches to end.
constexpr uint64_t kShutdownStepLimit = 1'000'000;

// Tasks that keep each other runnable without ever sleeping (a busy-wait on
// lab::Yield or TryRecv) would freeze the virtual clock. After this many
// dispatches at one instant, the clock moves to the next timer anyway, as
// real time would pass while they spin.
constexpr uint64_t kStepsPerInstant = 100'000;

// How much longer the default busy_limit is under ThreadSanitizer.
constexpr int kRaceBusyLimitFactor = 10;

// busy_limit is CPU time; a task that spends none (blocked in a system call)
// is reported after this many times busy_limit of real time.
constexpr int kBlockedBusyFactor = 6;

enum class Event : uint64_t { kDispatch = 1, kSpawn = 2, kFinish = 3, kTimer = 4 };

struct SimTask : TaskBase {
  using TaskBase::TaskBase;
  enum class State { kRunnable, kRunning, kBlocked, kDone };

  std::function<void()> fn;
  Fiber* fiber = nullptr;
  State state = State::kRunnable;
  bool permit = false;          // an Unpark that came while not blocked
  bool interruptible = false;   // of the current block
  Wake wake = Wake::kNotified;  // why the last block ended
  uint64_t timer_gen = 0;       // invalidates stale timers
  LivelockStats livelock;
};

struct Timer {
  absl::Time at;
  uint64_t seq;
  uint64_t task_id;  // tasks may end before their stale timers fire
  uint64_t gen;
  bool operator>(const Timer& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

uint64_t Mix(uint64_t h, uint64_t v) {
  // splitmix64's finalizer over the running hash and the value.
  uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class SimRuntime : public Runtime {
 public:
  explicit SimRuntime(const WorldOptions& options)
      : Runtime(options),
        now_(kSimEpoch),
        sched_rng_(options.seed ^ 0x5eed5c4edULL),
        livelock_(options.livelock_limit) {}

  ~SimRuntime() override {
    for (auto& [id, t] : tasks_) {
      // Only after a stuck shutdown; their stacks are abandoned.
      delete t;
    }
  }

  RuntimeKind kind() const override { return RuntimeKind::kSim; }

  absl::Status Run(std::function<void()> main) override;

  void Spawn(std::shared_ptr<Group> group, std::string name, std::function<void()> fn) override {
    race::Section section;
    SimTask* t;
    {
      std::lock_guard<std::mutex> l(group->mu);
      if (group->killed) return;
      t = new SimTask(this, next_id_++, std::move(name), group);
      t->wake_handle = t;
      group->tasks[t->id] = t;
    }
    t->fn = std::move(fn);
    // Go: the spawn happens before the task starts.
    race::Release(t);
    t->fiber = fibers_.Create(
        options_.stack_size,
        [this, t] {
          race::Acquire(t);
          RunTaskBody(t, t->fn);
          {
            race::Section section;
            t->exiting = true;
          }
          t->fn = nullptr;  // destroys captures inside the task, which must not throw
          // Its end happens before TaskGroup::Join and World::Run return.
          race::Release(t->group.get());
          race::Release(this);
        },
        race::kEnabled ? absl::StrCat(t->name, " (task ", t->id, ")").c_str() : "");
    tasks_[t->id] = t;
    runnable_.push_back(t);
    Record(Event::kSpawn, t->id);
    if (current_ != nullptr) YieldIn("lab::Go");
  }

  absl::Time Now() override { return now_; }

  void Yield() override { YieldIn("lab::Yield"); }

  void YieldIn(const char* call) override {
    race::Section section;
    SimTask* t = Current(call);
    t->livelock.last_call = call;
    // Even a killed task gives way first, so one that swallows TaskKilled in
    // a loop still lets the others run (and meets the shutdown step limit).
    t->state = SimTask::State::kRunnable;
    runnable_.push_back(t);
    fibers_.Suspend();
    if (t->killed.load() && !MayNotThrow(t)) throw TaskKilled();
  }

  Wake Park(absl::Time deadline, const char* reason, bool interruptible) override {
    race::Section section;
    SimTask* t = Current(reason);
    t->livelock.last_call = reason;
    interruptible = interruptible && !MayNotThrow(t);
    if (interruptible && t->killed.load()) return Wake::kKilled;
    if (t->permit) {
      t->permit = false;
      return Wake::kNotified;
    }
    if (deadline <= now_) return Wake::kTimeout;
    t->state = SimTask::State::kBlocked;
    t->interruptible = interruptible;
    t->blocked_in.store(reason);
    if (deadline != absl::InfiniteFuture()) {
      timers_.push(Timer{deadline, timer_seq_++, t->id, ++t->timer_gen});
    }
    fibers_.Suspend();
    t->blocked_in.store(nullptr);
    // A killed task runs no more lab code, even if it was woken first.
    if (interruptible && t->killed.load()) return Wake::kKilled;
    return t->wake;
  }

  void Unpark(void* wake_handle) override {
    race::Section section;
    // Single-threaded: the task cannot have ended between its notification
    // and this call.
    auto* t = static_cast<SimTask*>(wake_handle);
    if (t->state == SimTask::State::kBlocked) {
      MakeRunnable(t, Wake::kNotified);
    } else {
      t->permit = true;
    }
  }

  void Kill(TaskBase* task) override {
    race::Section section;
    auto* t = static_cast<SimTask*>(task);
    t->killed.store(true);
    if (t->state == SimTask::State::kBlocked && t->interruptible) MakeRunnable(t, Wake::kKilled);
  }

  uint64_t Fingerprint() const override { return fingerprint_; }

 private:
  SimTask* Current(const char* what) {
    if (current_ == nullptr) Fatal(absl::StrCat(what, " called outside a sim task"));
    return current_;
  }

  void MakeRunnable(SimTask* t, Wake why) {
    t->state = SimTask::State::kRunnable;
    t->wake = why;
    ++t->timer_gen;
    runnable_.push_back(t);
  }

  void Record(Event e, uint64_t id) {
    fingerprint_ = Mix(fingerprint_, static_cast<uint64_t>(absl::ToUnixNanos(now_)));
    fingerprint_ = Mix(fingerprint_, static_cast<uint64_t>(e) << 56 ^ id);
  }

  // Runs one task until it blocks, yields or ends.
  void Dispatch(SimTask* t) {
    t->state = SimTask::State::kRunning;
    current_ = t;
    SetCurrentTask(t);
    watch_task_.store(t, std::memory_order_release);
    // Only this thread writes it: no read-modify-write needed.
    dispatches_.store(dispatches_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    Record(Event::kDispatch, t->id);
    ++steps_at_instant_;
    fibers_.SwitchTo(t->fiber);
    watch_task_.store(nullptr, std::memory_order_relaxed);
    SetCurrentTask(nullptr);
    current_ = nullptr;
    if (t->fiber->finished()) Finish(t);
  }

  void Finish(SimTask* t) {
    Record(Event::kFinish, t->id);
    livelock_.Finished(t->livelock, t->name, t->group->name);
    t->state = SimTask::State::kDone;
    if (t->id == main_id_) main_done_ = true;
    LeaveGroup(t);
    fibers_.Destroy(t->fiber);
    tasks_.erase(t->id);
    delete t;
  }

  // Moves the clock to the earliest live timer and wakes every task whose
  // timer is due. False if there is no live timer.
  bool FireTimers() {
    while (!timers_.empty()) {
      if (LiveTimerTask(timers_.top()) == nullptr) {
        timers_.pop();  // stale: the task was woken another way, or ended
        continue;
      }
      if (timers_.top().at > now_) {
        now_ = timers_.top().at;
        steps_at_instant_ = 0;
      }
      while (!timers_.empty() && timers_.top().at <= now_) {
        Timer timer = timers_.top();
        timers_.pop();
        if (SimTask* t = LiveTimerTask(timer)) {
          Record(Event::kTimer, t->id);
          MakeRunnable(t, Wake::kTimeout);
        }
      }
      return true;
    }
    return false;
  }

  // The task a timer would wake, or null if the timer is stale.
  SimTask* LiveTimerTask(const Timer& timer) {
    auto it = tasks_.find(timer.task_id);
    if (it == tasks_.end()) return nullptr;
    SimTask* t = it->second;
    if (timer.gen != t->timer_gen || t->state != SimTask::State::kBlocked) return nullptr;
    return t;
  }

  SimTask* PickRunnable() {
    const size_t n = runnable_.size();
    // Multiply-shift maps the draw onto [0, n) without a division.
    const size_t i = n == 1 ? 0
                            : static_cast<size_t>((static_cast<unsigned __int128>(sched_rng_()) * n) >> 64);
    SimTask* t = runnable_[i];
    runnable_[i] = runnable_.back();
    runnable_.pop_back();
    return t;
  }

  void RunScheduler(std::function<void()> main);

  // The livelock report (livelock.h) on the tasks now alive.
  std::string DescribeLivelock() const {
    std::vector<LivelockWatch::Task> tasks;
    for (const auto& [id, t] : tasks_) tasks.push_back({id, &t->name, &t->group->name, &t->livelock});
    return livelock_.Describe(std::move(tasks), now_, kSimEpoch, options_.seed);
  }

  void StartWatchdog();
  void StopWatchdog();
  [[noreturn]] void ReportStuckShutdown(const std::string& why);

  FiberScheduler fibers_;
  absl::Time now_;
  std::mt19937_64 sched_rng_;
  uint64_t fingerprint_ = 0;
  uint64_t next_id_ = 1;
  uint64_t timer_seq_ = 0;
  uint64_t main_id_ = 0;
  uint64_t steps_at_instant_ = 0;  // dispatches since the clock last moved
  bool main_done_ = false;
  absl::Status run_status_;  // what Run returns
  SimTask* current_ = nullptr;
  std::vector<SimTask*> runnable_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::map<uint64_t, SimTask*> tasks_;  // every task not yet finished
  LivelockWatch livelock_;

  // Read by the watchdog thread.
  std::atomic<SimTask*> watch_task_{nullptr};
  std::atomic<uint64_t> dispatches_{0};
  std::thread watchdog_;
  std::mutex watchdog_mu_;
  std::condition_variable watchdog_cv_;
  bool watchdog_stop_ = false;
};

absl::Status SimRuntime::Run(std::function<void()> main) {
  StartWatchdog();  // outside the Section: its thread sees how it was made
  {
    // The scheduler is the runtime's own code: TSan ignores it.
    race::Section section(/*active=*/true);
    RunScheduler(std::move(main));
  }
  StopWatchdog();
  // Every task's end happens before Run returns.
  race::Acquire(this);
  return run_status_;
}

void SimRuntime::RunScheduler(std::function<void()> main) {
  main_id_ = next_id_;
  Spawn(root_, "main", std::move(main));
  bool shutting_down = false;
  uint64_t shutdown_steps = 0;
  // After a deadlock, main unwinds last: the other tasks may use objects on
  // its stack (a mutex they wait for, say).
  bool hold_main = false;
  SimTask* held_main = nullptr;
  while (true) {
    if (main_done_ && !shutting_down) {
      shutting_down = true;
      KillAllGroups();
    }
    if (!runnable_.empty()) {
      if (steps_at_instant_ >= kStepsPerInstant) {
        steps_at_instant_ = 0;
        FireTimers();
      }
      if (shutting_down && ++shutdown_steps > kShutdownStepLimit) {
        ReportStuckShutdown(absl::StrCat("killed tasks still running after ", kShutdownStepLimit,
                                         " scheduling steps (catching lab::TaskKilled?)"));
      }
      SimTask* t = PickRunnable();
      if (!shutting_down && livelock_.Dispatched(t->livelock, now_)) {
        run_status_ = absl::AbortedError(DescribeLivelock());
        std::fprintf(stderr, "lab: %s", std::string(run_status_.message()).c_str());
        std::fflush(stderr);
        shutting_down = true;
        hold_main = true;
        KillAllGroups();
      }
      if (hold_main && t->id == main_id_ && tasks_.size() > 1) {
        held_main = t;
        continue;
      }
      Dispatch(t);
      continue;
    }
    livelock_.Idle();
    if (FireTimers()) continue;
    if (held_main != nullptr) {
      runnable_.push_back(held_main);
      held_main = nullptr;
      hold_main = false;
      continue;
    }
    if (tasks_.empty()) break;
    if (shutting_down) {
      ReportStuckShutdown("tasks blocked for good while shutting down");
    }
    run_status_ = absl::AbortedError(absl::StrCat(
        "deadlock at t=", absl::FormatDuration(now_ - kSimEpoch), " (seed ", options_.seed,
        "): every task is blocked and no timer is pending:\n", DescribeTasks()));
    std::fprintf(stderr, "lab: %s", std::string(run_status_.message()).c_str());
    std::fflush(stderr);
    shutting_down = true;
    hold_main = true;
    KillAllGroups();
  }
}

void SimRuntime::ReportStuckShutdown(const std::string& why) {
  std::fprintf(stderr, "lab: sim shutdown (seed %llu): %s:\n%s",
               static_cast<unsigned long long>(options_.seed), why.c_str(),
               DescribeTasks().c_str());
  std::fflush(stderr);
  trace::RecordFatal(absl::StrCat("sim shutdown: ", why));
  std::_Exit(kStuckTaskExitCode);
}

void SimRuntime::StartWatchdog() {
  // Every task runs on this thread: its CPU time is what a running task
  // spends. Measuring that, not real time, a task is not taken for a busy
  // loop because the machine is loaded (which slows it down, sometimes
  // twentyfold: seen on KV3B.SnapshotRecover). A task blocked in a system
  // call spends none: it is reported after kBlockedBusyFactor times the
  // limit of real time.
  clockid_t cpu_clock{};
  const bool have_cpu_clock = pthread_getcpuclockid(pthread_self(), &cpu_clock) == 0;
  watchdog_ = std::thread([this, have_cpu_clock, cpu_clock] {
    using Clock = std::chrono::steady_clock;
    auto cpu_now = [have_cpu_clock, cpu_clock] {
      timespec ts{};
      if (!have_cpu_clock || clock_gettime(cpu_clock, &ts) != 0) return Clock::duration::zero();
      return std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                         std::chrono::nanoseconds(ts.tv_nsec));
    };
    // TSan slows code down tenfold or more (and race runs share the machine):
    // the default limit is ten times longer under it.
    const bool default_limit = options_.busy_limit == WorldOptions().busy_limit;
    const absl::Duration busy_limit =
        options_.busy_limit * (race::kEnabled && default_limit ? kRaceBusyLimitFactor : 1);
    const auto limit = absl::ToChronoNanoseconds(busy_limit);
    uint64_t last_dispatches = dispatches_.load();
    auto last_change = Clock::now();
    auto last_change_cpu = cpu_now();
    std::unique_lock<std::mutex> l(watchdog_mu_);
    while (!watchdog_stop_) {
      watchdog_cv_.wait_for(l, std::chrono::milliseconds(50));
      const uint64_t d = dispatches_.load(std::memory_order_relaxed);
      SimTask* running = watch_task_.load(std::memory_order_acquire);
      if (d != last_dispatches || running == nullptr) {
        last_dispatches = d;
        last_change = Clock::now();
        last_change_cpu = cpu_now();
        continue;
      }
      const bool busy = have_cpu_clock ? cpu_now() - last_change_cpu >= limit
                                       : Clock::now() - last_change >= limit;
      if (busy || Clock::now() - last_change >= limit * kBlockedBusyFactor) {
        // (The task has not given way for busy_limit: it is still running,
        // so reading it here is safe in practice.)
        const char* what =
            running->killed.load()
                ? "was killed, but has run on for %s of %s time without giving way "
                  "(does it catch lab::TaskKilled and loop?)"
                : "has run for %s of %s time without a runtime call (a busy loop?). In sim, "
                  "tasks take turns: a task must sleep, wait, lock, send, receive or "
                  "lab::Yield() for others to run";
        const absl::Duration shown = busy ? busy_limit : busy_limit * kBlockedBusyFactor;
        std::fprintf(stderr, "lab: task %llu \"%s\" ", static_cast<unsigned long long>(running->id),
                     running->name.c_str());
        std::fprintf(stderr, what, absl::FormatDuration(shown).c_str(),
                     busy && have_cpu_clock ? "CPU" : "real");
        std::fprintf(stderr, ". seed %llu\n", static_cast<unsigned long long>(options_.seed));
        std::fflush(stderr);
        trace::RecordFatal(absl::StrCat("task \"", running->name, "\" stopped the world (",
                                        running->killed.load() ? "killed, never gave way"
                                                               : "a busy loop?", ")"));
        std::_Exit(kStuckTaskExitCode);
      }
    }
  });
}

void SimRuntime::StopWatchdog() {
  {
    std::lock_guard<std::mutex> l(watchdog_mu_);
    watchdog_stop_ = true;
  }
  watchdog_cv_.notify_all();
  watchdog_.join();
}

}  // namespace

std::unique_ptr<Runtime> NewSimRuntime(const WorldOptions& options) {
  return std::make_unique<SimRuntime>(options);
}

}  // namespace lab::internal
