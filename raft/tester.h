// raft/tester.h
//
// What the Lab 2 and Lab 3 testers share (framework, not student code):
// the network, the record of a test's failures, the tester's own tasks, the
// time limit and its watchdog, crashing a server as Go's testers do (Kill,
// then its tasks after a watched grace period: kill_watch.h), the header
// and cost lines every test prints, and RunLabTest, which runs a test body
// in a world. raft::Config (raft/config.h) and kvraft::Config
// (kvraft/config.h) are Testers; a tester written for another lab would be
// one too:
//
//   class Config : public raft::Tester {
//    public:
//     Config(int n) : Tester(n, {"my tester", "server", "my-", false}) {
//       { lab::MutexLock l(&mu_); ...its own state... }
//       StartWatchdog();
//       ...start and connect the servers...
//     }
//     ~Config() override {
//       StopTesterTasks();  // first: they call into servers
//       ...take the servers out under mu_, StopServers(servers)...
//     }
//    private:
//     void KillServersLocked() override;   // kill every running server's group
//     int64_t CostCountLocked() const override;  // the cost line's last column
//   };
//
// Failures: a failed check calls ADD_FAILURE() with its message and throws
// raft::TestFailed, which ends the test body (RunLabTest catches it) or a
// task started with Go. A check that fails where it cannot throw into the
// test (an applier, the watchdog) records the failure, and the next tester
// call in any task throws. So a test body needs no checks of its own beyond
// calling the tester.
//
// Schedules: every lab::Mutex operation, sleep and spawn is a scheduling
// point in the sim runtime, so the tester's runs replay only if these stay
// as they are. The derived testers guard their state with this mu_.
//
// Thread safety: every public method may be called from any tester task
// (the test body and tasks from Go), not from a server's tasks.

#ifndef RAFT_TESTER_H_
#define RAFT_TESTER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "labrpc/network.h"
#include "labrpc/runtime/lab.h"
#include "raft/kill_watch.h"

namespace raft {

// Each test must end within this much runtime time (virtual in sim).
inline constexpr absl::Duration kTestTimeLimit = absl::Seconds(120);

// Thrown by a failed check (after ADD_FAILURE). Deliberately not a
// std::exception, so `catch (const std::exception&)` does not swallow it.
struct TestFailed {
  std::string message;
};

// Go's sync.WaitGroup, for tasks started with Tester::Go.
class WaitGroup {
 public:
  void Add(int n);
  void Done();
  void Wait();

 private:
  lab::Mutex mu_;
  lab::CondVar cv_;  // notified by Done when the count reaches 0
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

class Tester {
 public:
  Tester(const Tester&) = delete;
  Tester& operator=(const Tester&) = delete;

  // The number of servers.
  int n() const { return n_; }

  // Prints "<description> ..." and starts counting RPCs (bytes) and the
  // cost line's last column.
  void Begin(std::string_view description);
  // Checks the time limit; prints the cost line, "  ... Passed --  time
  // peers rpcs [bytes] count" (time in runtime seconds), as the Go lab's
  // tester prints it.
  void End();

  // RPCs and bytes the network has carried so far (clerks' included).
  int64_t RpcTotal() const;
  int64_t BytesTotal() const;

  // Fails the test: ADD_FAILURE() with `message` (at the caller's line),
  // then throws TestFailed. After an earlier failure, only throws.
  [[noreturn]] void Fail(const std::string& message, const char* file = __builtin_FILE(),
                         int line = __builtin_LINE());
  // Throws TestFailed if any check has failed (in any task).
  void CheckFailed() const;
  bool failed() const;

  // Starts a tester task (a goroutine of the Go tests). A TestFailed ends
  // only the task (the failure is recorded). With `wg`, Add(1) now and
  // Done() when the task ends. The task is killed when the tester goes.
  void Go(std::string name, std::function<void()> fn, WaitGroup* wg = nullptr);

 protected:
  // How the lab's tester words what it prints.
  struct Style {
    const char* name;    // "raft tester": the watchdog's last words
    const char* server;  // "peer": what failures call a server
    const char* prefix;  // "raft-": ServerName(i) is prefix + i
    // The cost line has a bytes column (Lab 2's); Lab 3's has none, and
    // its tester does not read the byte count.
    bool count_bytes = false;
  };

  // A running instance of a server: what the tests drive (a Raft; a
  // KVServer, which owns its Raft) and the task group its tasks run in.
  // Shared, so a tester task calling into it keeps it alive while the
  // server is crashed; it is destroyed only after its group's tasks ended.
  template <class T>
  struct Instance {
    // What the tester sees this instance do once killed (kill_watch.h).
    std::shared_ptr<KillWatch> watch = std::make_shared<KillWatch>(InFlightAllowance());
    std::unique_ptr<T> service;
    // Declared last, so destroyed first: its tasks (killed, waited for) are
    // gone before the service they use.
    std::unique_ptr<lab::TaskGroup> group;
  };

  // How long a crashed server's tasks get to end after their group is
  // killed.
  static constexpr absl::Duration kStopTimeout = absl::Seconds(10);

  // Makes the network (the derived tester sets its faults) and the
  // tester's task group. Must be made in a world task (the test body).
  Tester(int n, Style style);
  virtual ~Tester();

  // Starts the watchdog: past kTestTimeLimit it fails the test, kills every
  // server's tasks (KillServersLocked), and if the test has still not ended
  // a little later, stops the process, as Go's test timeout panics. The
  // derived constructor calls it once its own state is set up.
  void StartWatchdog();
  // Kills the tester's tasks (the watchdog's and Go's) and waits for them,
  // then stops the servers still in their grace period after Retire (a
  // test that ends sooner is not made to wait). The derived destructor
  // calls it first: they use its state.
  void StopTesterTasks();

  // Kills the task group of every running server.
  virtual void KillServersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // The cost line's last column, as a running count: Lab 2's commands
  // (the highest index applied), Lab 3's clerk operations.
  virtual int64_t CostCountLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;

  // Records a failure without throwing (appliers, watchdog): reported only
  // if it is the test's first, unless `always`.
  void RecordFailure(const std::string& message, bool always = false,
                     const char* file = __builtin_FILE(), int line = __builtin_LINE());

  // "raft-3"
  std::string ServerName(int i) const;

  // Stops a server already out of the network: kills its group, Kills its
  // service, and waits for its tasks. False if they did not end in time
  // (the instance is then kept in zombies_, never destroyed while the
  // tester runs); say so with StopFailure.
  template <class T>
  bool StopServer(std::shared_ptr<Instance<T>> server);
  // Kill as in Go (kill_watch.h), for crashing server i while the test goes
  // on: `server` must be out of the network already. Points its ends
  // (`ends`, names in the network) at a sentinel that watches its calls,
  // calls its Kill() in this task, and returns; a tester task then waits
  // KillGrace(), takes the sentinel away and stops the instance's tasks
  // (StopTasks), recording a failure if they do not end. What the instance
  // does meanwhile is judged by its watch as it happens.
  template <class T>
  void Retire(int i, std::shared_ptr<Instance<T>> server, const std::vector<std::string>& ends);
  // "peer 3's tasks did not end within 10s of being killed" + `what`.
  std::string StopFailure(int i, const char* what) const;
  // At teardown, after StopTesterTasks: deletes each server i from the
  // network and stops servers[i] (null: crashed), reporting any whose tasks
  // do not end.
  template <class T>
  void StopServers(std::vector<std::shared_ptr<Instance<T>>> servers);

  const int n_;
  const absl::Time start_;
  // Declared first: destroyed last, after every server is gone.
  std::unique_ptr<labrpc::Network> net_;

  // Guards the derived tester's state too.
  mutable lab::Mutex mu_;
  // Stopped servers whose tasks did not end.
  std::vector<std::shared_ptr<void>> zombies_ ABSL_GUARDED_BY(mu_);

 private:
  // A server in its grace period after Retire.
  struct Retiring {
    int64_t id;
    int server;
    lab::TaskGroup* group;
    std::shared_ptr<void> instance;  // keeps `group` alive
    std::string sentinel;            // its address in the network
    std::vector<std::string> ends;
  };

  bool StopTasks(lab::TaskGroup& group, absl::FunctionRef<void()> kill,
                 std::shared_ptr<void> server);
  // Retire's untyped parts: registers `r` (returns its id), and, after the
  // Kill, starts the task that ends its grace period.
  int64_t AddRetiring(Retiring r);
  void StartGracePeriod(int64_t id);
  // Ends the grace period of retiring server `id` (if not ended already):
  // takes its sentinel away and stops its tasks.
  void EndGracePeriod(int64_t id, bool at_teardown);
  // Adds a sentinel (kill_watch.h) for a killed instance of server i and
  // points `ends` at it; returns its address.
  std::string AddSentinel(int i, const std::vector<std::string>& ends,
                          std::shared_ptr<KillWatch> watch);
  // ADD_FAILURE (the test is over: no throw, and no lock taken).
  void ReportStuckAtTeardown(int i) const;

  const Style style_;
  // The tester's own tasks: the watchdog and tasks from Go().
  std::unique_ptr<lab::TaskGroup> tester_;

  bool failed_ ABSL_GUARDED_BY(mu_) = false;

  std::vector<Retiring> retiring_ ABSL_GUARDED_BY(mu_);
  int64_t retire_counter_ ABSL_GUARDED_BY(mu_) = 0;

  // Begin()/End() statistics.
  absl::Time t0_ ABSL_GUARDED_BY(mu_);
  int64_t rpcs0_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t bytes0_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t count0_ ABSL_GUARDED_BY(mu_) = 0;
};

template <class T>
bool Tester::StopServer(std::shared_ptr<Instance<T>> server) {
  lab::TaskGroup& group = *server->group;
  T* service = server->service.get();
  return StopTasks(
      group, [service] { service->Kill(); }, std::move(server));
}

template <class T>
void Tester::Retire(int i, std::shared_ptr<Instance<T>> server,
                    const std::vector<std::string>& ends) {
  const std::string sentinel = AddSentinel(i, ends, server->watch);
  // Registered first, so that the watchdog kills its tasks if Kill() hangs.
  const int64_t id = AddRetiring(Retiring{0, i, server->group.get(), server, sentinel, ends});
  {
    // Tasks Kill() spawns belong to the instance.
    lab::TaskGroup::Scope scope(*server->group);
    server->service->Kill();
  }
  server->watch->Killed(lab::Now());
  StartGracePeriod(id);
}

template <class T>
void Tester::StopServers(std::vector<std::shared_ptr<Instance<T>>> servers) {
  for (int i = 0; i < n_; ++i) {
    net_->DeleteServer(ServerName(i));
    if (servers[i] != nullptr && !StopServer(std::move(servers[i]))) {
      ReportStuckAtTeardown(i);
    }
  }
}

// Runs `body` as the main task of a lab::World made from the environment
// (LAB_RUNTIME, LAB_SEED: see world.h); a TestFailed ends it. Expects the
// world to end cleanly; in sim prints "fingerprint: <hex>"; after a failure
// prints the command that replays the run. `binary` is the test binary's
// path in that line (e.g. "bazel-bin/kvraft/kvraft_test").
void RunLabTest(std::string_view binary, const std::function<void()>& body);
// The command that replays the running test (set by RunLabTest).
std::string CurrentReplayCommand();

}  // namespace raft

#endif  // RAFT_TESTER_H_
