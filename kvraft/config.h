// kvraft/config.h
//
// The Lab 3 tester (framework, not student code): n KV servers, each with
// its Raft on one labrpc server, clerks with their own ends, partitions,
// shutdowns and restarts, and a record of every clerk call for the
// linearizability check. The C++ port of the Go lab's kvraft config.go
// (TESTS.md, "Lab 3 tester").
//
//   TEST(KV3A, Basic) {
//     kvraft::RunKvTest([] {
//       kvraft::Config cfg(5, /*unreliable=*/false, /*maxraftstate=*/-1);
//       cfg.Begin("Test: one client (3A)");
//       kvraft::Config::Client* ck = cfg.MakeClient(cfg.All());
//       cfg.Put(ck, "k", "v");
//       cfg.Check(ck, "k", "v");
//       cfg.End();
//     });
//   }
//
// Server i lives in a lab::TaskGroup "kv-i" (its KVServer's and Raft's
// tasks and its RPC handlers). ShutdownServer(i) takes it out of the
// network at once and calls KVServer::Kill (which kills its Raft); as in
// Go, the killed instance keeps running for a grace period, watched (an RPC
// its Raft starts then fails the test: raft/kill_watch.h), before its group
// is killed. The Raft safety monitors of Lab 2 (raft/safety_monitor.h)
// watch every test: one leader per term, one vote per server per term, Log
// Matching, Leader Completeness and Commitment on every AppendEntries.
// Failures, tester tasks (Config::Go), the
// watchdog and Begin/End are raft::Tester's (raft/tester.h), as in the Lab 2
// tester: a failed check throws raft::TestFailed, which ends the test body
// or the tester task that made it.
//
// Thread safety: every method may be called from any tester task; a Client
// is used by one task at a time.

#ifndef KVRAFT_CONFIG_H_
#define KVRAFT_CONFIG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "kvraft/client.h"
#include "kvraft/server.h"
#include "labrpc/network.h"
#include "labrpc/persister.h"
#include "labrpc/runtime/lab.h"
#include "linearizability/kv.h"
#include "raft/safety_monitor.h"
#include "raft/tester.h"

namespace kvraft {

using raft::kTestTimeLimit;
using raft::TestFailed;
using raft::WaitGroup;

// The tester allows a new leader to take this long (as Lab 2's).
inline constexpr absl::Duration kElectionTimeout = absl::Seconds(1);
// The linearizability checker's budget (wall clock): past it the history
// counts as ok, with a note (Go's linearizabilityCheckTimeout).
inline constexpr absl::Duration kLinearizabilityBudget = absl::Seconds(1);

// n(), RpcTotal() and the failure, task and Begin/End methods come from
// raft::Tester; the cost line is "  ... Passed --  time peers rpcs ops".
class Config : public raft::Tester {
 public:
  // A clerk and its ends (one to every server, in a shuffled order, so the
  // Clerk cannot know which server is which).
  struct Client {
    int id = 0;
    std::unique_ptr<Clerk> clerk;
    std::vector<std::string> end_names;  // by server
  };

  // n servers, started and connected; unreliable if asked;
  // maxraftstate < 0: servers never snapshot. Make it in a world task.
  Config(int n, bool unreliable, int64_t maxraftstate);
  // Stops the tester's tasks, then every server, then the network.
  ~Config() override;

  // {0, 1, ..., n-1}
  std::vector<int> All() const;

  // --- Clerks ---
  // A new clerk, connected to the servers in `to` (its ends to the others
  // exist but are disabled). Owned by the Config.
  Client* MakeClient(const std::vector<int>& to);
  void DeleteClient(Client* client);
  void ConnectClient(Client* client, const std::vector<int>& to);
  void DisconnectClient(Client* client, const std::vector<int>& from);

  // A clerk call, counted in the cost line. With record, it joins the
  // history (its kind, key, value, output, call and return times, and
  // `cli` as the client) that CheckLinearizable checks.
  std::string Get(Client* client, const std::string& key, bool record = false, int cli = 0);
  void Put(Client* client, const std::string& key, const std::string& value, bool record = false,
           int cli = 0);
  void Append(Client* client, const std::string& key, const std::string& value,
              bool record = false, int cli = 0);
  // Gets `key` and fails unless it is `expected` (Go's check).
  void Check(Client* client, const std::string& key, const std::string& expected);

  // --- Servers and the network ---
  // Server i can reach exactly the servers of its side (clerks unchanged).
  void Partition(const std::vector<int>& p1, const std::vector<int>& p2);
  // Every server can reach every other.
  void ConnectAll();
  // A majority of n/2 + 1 servers without the current leader, and the
  // minority: the rest and the leader (server 0 if there is none), as Go.
  std::pair<std::vector<int>, std::vector<int>> MakePartition();
  // A server whose Raft says it leads, if any.
  std::optional<int> Leader();
  // Shuts server i down: disconnects it, deletes it from the network, keeps
  // a copy of what it persisted, kills it; its tasks are killed after a
  // grace period, in a tester task.
  void ShutdownServer(int i);
  // (Re)starts server i from a copy of what it persisted, with fresh ends;
  // not connected until ConnectAll / Partition.
  void StartServer(int i);

  // The largest persisted Raft state / snapshot among the servers.
  int64_t LogSize() const;
  int64_t SnapshotSize() const;

  // Checks the recorded history for linearizability. Illegal: writes an
  // HTML visualization (its path is printed) and fails. Unknown (the
  // checker's budget ran out): prints a note and passes, as Go's tester.
  void CheckLinearizable();

 private:
  // A running server: its KVServer (`service`) and its task group.
  using Server = Instance<KVServer>;

  std::shared_ptr<Server> ServerOf(int i) const;
  void KillServersLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The clerk operations so far.
  int64_t CostCountLocked() const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Enables (disables) the ends between server i and the servers in `to`,
  // both directions.
  void ConnectLocked(int i, const std::vector<int>& to, bool enabled)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteEvent(std::string description);
  void Record(linearizability::KvOperation op);
  void CountOp();
  // Server i's Raft handlers, wrapped so that the monitor sees each RPC.
  std::shared_ptr<labrpc::Service> MakeRaftService(int i, raft::Raft* rf);
  // Records a safety violation (if `violation` is not empty), with the
  // servers as last seen and the seed.
  void ReportViolation(const std::string& violation);

  const int64_t maxraftstate_;

  // State below is protected by mu_ (Tester's).
  std::vector<std::shared_ptr<Server>> servers_ ABSL_GUARDED_BY(mu_);  // null: shut down
  std::vector<std::shared_ptr<labrpc::Persister>> saved_ ABSL_GUARDED_BY(mu_);
  // end_names_[i][j]: server i's end to server j.
  std::vector<std::vector<std::string>> end_names_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Client>> clients_ ABSL_GUARDED_BY(mu_);
  int64_t end_counter_ ABSL_GUARDED_BY(mu_) = 0;
  int next_client_id_ ABSL_GUARDED_BY(mu_) = 0;

  std::vector<linearizability::KvOperation> history_ ABSL_GUARDED_BY(mu_);
  std::vector<linearizability::FaultEvent> events_ ABSL_GUARDED_BY(mu_);

  // Clerk calls made, for the cost line.
  int64_t ops_ ABSL_GUARDED_BY(mu_) = 0;

  // Called by the handlers too; it has its own lock (no scheduling point).
  raft::SafetyMonitor monitor_;
};

// Runs a Lab 3 test body in a world made from the environment, like
// raft::RunRaftTest (fingerprint line in sim, replay line on failure).
void RunKvTest(const std::function<void()>& body);

}  // namespace kvraft

#endif  // KVRAFT_CONFIG_H_
