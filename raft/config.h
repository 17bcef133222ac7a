// raft/config.h
//
// The Lab 2 tester (framework, not student code): a cluster of Raft peers
// on a labrpc::Network, with the checks the tests make. The C++ port of the
// Go lab's config.go, with the same scenarios and bounds (TESTS.md, "Lab 2
// tester").
//
//   TEST(Raft2A, InitialElection) {
//     raft::RunRaftTest([] {
//       raft::Config cfg(3, /*unreliable=*/false, /*snapshot=*/false);
//       cfg.Begin("Test (2A): initial election");
//       int leader = cfg.CheckOneLeader();
//       cfg.One(101, 3, /*retry=*/false);   // commands are opaque bytes
//       cfg.End();
//     });
//   }
//
// Each peer i lives in a lab::TaskGroup "raft-i": its Raft's tasks, its RPC
// handlers and the tester's applier for it. Crash1(i) takes it out of the
// network at once and calls its Kill(); as in Go, the killed instance keeps
// running for a grace period, watched (a late ApplyMsg or RPC fails the
// test: raft/kill_watch.h), before its group is killed. Start1(i) builds a
// new peer from a copy of what the old one persisted.
//
// Safety is checked continuously in every test (raft/safety_monitor.h):
// one leader per term, one vote per peer per term (Start1 probes each
// restarted peer with a RequestVote it must refuse), Log Matching, Leader
// Completeness and Commitment on every AppendEntries, and in the appliers,
// applied prefixes that agree and no peer applying an index twice or going back
// (by a snapshot older than what it applied, either).
// The first violation fails the test, naming the peers' terms and roles as
// last seen, and the seed.
//
// Commands: tests pass ints (Cmd(x) makes the bytes, the decimal digits) or
// any string. Appliers record every applied command per peer, and compare
// it with every other peer's at that index as it arrives.
//
// Failures, tester tasks (Config::Go), the 120-second watchdog and the
// header and cost lines (Begin, End) are raft::Tester's (raft/tester.h),
// which the Lab 3 tester shares: a failed check throws raft::TestFailed,
// which ends the test body (RunRaftTest catches it) or the tester task that
// made it; one in an applier is recorded, and the next tester call throws.
//
// Thread safety: every method may be called from any tester task (the test
// body and tasks from Config::Go), not from a peer's tasks.

#ifndef RAFT_CONFIG_H_
#define RAFT_CONFIG_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "labrpc/network.h"
#include "labrpc/persister.h"
#include "labrpc/runtime/lab.h"
#include "raft/raft.h"
#include "raft/safety_monitor.h"
#include "raft/tester.h"

namespace raft {

// The tester generously allows solutions to complete elections in one second
// (much more than the paper's range of timeouts).
inline constexpr absl::Duration kElectionTimeout = absl::Seconds(1);
// The snapshot applier snapshots after every kSnapshotInterval commands.
inline constexpr int kSnapshotInterval = 10;
// 2D: the persisted Raft state must stay below this many bytes.
inline constexpr int64_t kMaxLogSize = 2000;

// The command bytes for the int `x`.
std::string Cmd(int64_t x);
// A random non-negative command value (Go's rand.Int()), from the runtime.
int64_t RandomCommand();
// n random characters from [A-Za-z0-9_-] (Go's randstring).
std::string RandomString(int n);

// Which applier reads a peer's apply channel.
enum class ApplierKind {
  kPlain,     // checks commands; ignores snapshots
  kSnapshot,  // 2D: also snapshots every kSnapshotInterval commands
};

// n() and the failure, task and Begin/End methods come from Tester.
class Config : public Tester {
 public:
  // n peers, each started and connected; long delays on; unreliable if
  // asked; snapshot selects the 2D applier. Must be made in a world task
  // (the test body).
  Config(int n, bool unreliable, bool snapshot);
  // Stops the tester's tasks, then every peer (Kill, kill its group, wait),
  // then the network.
  ~Config() override;

  // Crashes peer i: disconnect, delete its server, keep a copy of what it
  // persisted, Kill it; its task group is killed after a grace period (see
  // above), in a tester task. No-op for its Raft if it is down already.
  void Crash1(int i);
  // (Re)starts peer i from a copy of its persisted state, with fresh ends
  // and a new applier; ingests its snapshot, if any. Not connected until
  // Connect(i). The one-argument form uses the config's applier kind.
  void Start1(int i);
  void Start1(int i, ApplierKind applier);

  // Enables (disables) i's ends to connected peers and theirs to i.
  void Connect(int i);
  void Disconnect(int i);
  bool connected(int i) const;
  // Whether peer i is started (not crashed).
  bool alive(int i) const;

  // Cuts (works = false) or restores one direction between peers `from` and
  // `to`, as messages see it: while it is cut, `from`'s RPCs to `to` are not
  // delivered, and the replies `from` gives to `to`'s RPCs are lost (the
  // handler runs; `to` sees the call fail). labrpc cuts whole calls (request
  // and reply travel on the caller's end), so the tester drops those replies
  // itself, knowing the caller by the id in the arguments (candidate_id,
  // leader_id). A cut outlasts Connect, Disconnect and restarts until it is
  // restored. For the one-way partition test (TESTS.md, "Beyond").
  void SetLink(int from, int to, bool works);

  // Holds the link from peer `from` to peer `to` as a congested one would:
  // the next AppendEntries from `from` whose entries reach `index` (or
  // beyond) gets to `to` at once, but its reply is held back until
  // ReleaseLink; every later RPC from
  // `from` to `to` waits and arrives a second after the release (after
  // the held reply, then). Other links are not affected. For the test of
  // a leader that uses a reply of an earlier term.
  void HoldLink(int from, int to, int64_t index);
  void ReleaseLink(int from, int to);

  void SetUnreliable(bool unreliable);
  void SetLongReordering(bool on);
  // Peer i's applier takes `per_command` for each command it applies (a
  // slow service). Zero (the default) applies at once.
  void SetApplyDelay(int i, absl::Duration per_command);

  // Peer i's Start / GetState, run so that tasks it spawns join i's group.
  // A crashed peer gives {-1, -1, false} and {-1, false}.
  StartResult Start(int i, const std::string& command);
  StartResult Start(int i, int64_t command) { return Start(i, Cmd(command)); }
  std::pair<int64_t, bool> GetState(int i);

  // Checks that one connected peer thinks it is the leader, and no other in
  // its term, retrying for a while; returns it. Two leaders in a term, or
  // none after 10 tries, fails.
  int CheckOneLeader();
  // Checks that the connected peers agree on the term; returns it.
  int64_t CheckTerms();
  // Checks that no connected peer thinks it is the leader.
  void CheckNoLeader();
  // How many peers have applied `index`, and the command there ("" if none).
  // Peers that disagree fail.
  struct Committed {
    int count = 0;
    std::string command;
  };
  Committed NCommitted(int64_t index);
  // Waits for at least n peers to apply `index` (polls 10 ms doubling to
  // 1 s, 30 times); returns the command, or nullopt if some peer's term
  // moved past start_term (-1: don't look at terms). Fewer than n fails.
  std::optional<std::string> Wait(int64_t index, int n, int64_t start_term);
  // A complete agreement: for up to 10 s, Start `command` on connected peers
  // in turn until one accepts, then wait up to 2 s for `expected` peers to
  // apply it at that index. With retry, Starts again after a miss; without,
  // a miss fails. Returns the index.
  int64_t One(const std::string& command, int expected, bool retry);
  // Each peer's term and leadership as GetState reports them, for failure
  // messages ("peers now: 0 term 3 leader; 1 term 3; 2 crashed").
  std::string DescribePeers();
  int64_t One(int64_t command, int expected, bool retry) {
    return One(Cmd(command), expected, retry);
  }

  // Delivers `args` to peer i's RequestVote (AppendEntries) over the
  // network, from an end of the tester's own, as if peer args.candidate_id
  // (args.leader_id) had sent it: for the tests of messages from peers
  // that cannot know they are out of date (a candidate with a stale log
  // retrying its requests, a deposed leader still sending heartbeats).
  // Returns whether the reply came back, as Call does.
  bool SendAsPeer(int i, const RequestVoteArgs& args, RequestVoteReply* reply);
  bool SendAsPeer(int i, const AppendEntriesArgs& args, AppendEntriesReply* reply);

  // RPCs dispatched to peer i's current server.
  int64_t RpcCount(int i) const;
  // AppendEntries RPCs dispatched to peer i (any of its instances) so far.
  int64_t AppendEntriesCount(int i) const;
  // The largest persisted Raft state among the peers.
  int64_t LogSize() const;

 private:
  // A running peer: its Raft (`service`) and its task group.
  using Peer = Instance<Raft>;

  std::shared_ptr<Peer> PeerOf(int i) const;
  void KillServersLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The highest index applied.
  int64_t CostCountLocked() const override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The service peer i's server offers: Raft's handlers, wrapped to count
  // AppendEntries, watch leaders and drop replies on cut links.
  std::shared_ptr<labrpc::Service> MakeService(int i, Raft* rf);
  // Called in peer i's handler task after it handled an RPC from `caller`:
  // if the link i -> caller is cut, ends the task without a reply.
  void DropReplyIfCut(int i, int caller) const;
  // Called first in `to`'s handler of an RPC from `from` (HoldLink): waits
  // if the link holds requests now; returns whether this is the call whose
  // reply is to be held (then WaitForRelease(from, to, 0) before replying).
  // `reaches`: the last index an AppendEntries covers (0 for other RPCs).
  bool WaitIfHeld(int from, int to, int64_t reaches);
  // Sleeps until `after` past ReleaseLink(from, to).
  void WaitForRelease(int from, int to, absl::Duration after);
  // The tester's end to peer i's server (whichever instance is running).
  std::shared_ptr<labrpc::ClientEnd> TesterEnd(int i);
  // Records a safety violation the monitor found (if `violation` is not
  // empty), with the peers as last seen and the seed.
  void ReportViolation(const std::string& violation);
  // Peer i's GetState or Start said {term, is_leader}.
  void ObserveState(int i, int64_t term, bool is_leader);

  void PlainApplier(int i, lab::Chan<ApplyMsg>& ch, KillWatch& watch);
  void SnapshotApplier(int i, Raft* rf, lab::Chan<ApplyMsg>& ch, KillWatch& watch);
  // An applier got `m` from a killed instance of peer i: judged by its
  // watch, not recorded (a new instance may be running). True if so.
  bool AfterKill(int i, KillWatch& watch, const ApplyMsg& m);
  // Checks m against every peer's applied commands and records it for i.
  // Returns an error message or "". *prev_ok: i had applied index - 1.
  std::string CheckLogsLocked(int i, const ApplyMsg& m, bool* prev_ok)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Replaces i's applied commands with a snapshot's; index -1: don't check
  // the snapshot's index. Returns an error message or "".
  std::string IngestSnapshotLocked(int i, const std::string& snapshot, int64_t index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const bool snapshot_;

  // State below is protected by mu_ (Tester's).
  std::vector<std::shared_ptr<Peer>> peers_ ABSL_GUARDED_BY(mu_);  // null: crashed
  std::vector<bool> connected_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<labrpc::Persister>> saved_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<std::string>> end_names_ ABSL_GUARDED_BY(mu_);
  // The tester's own end to each peer's server (SendAsPeer), made when
  // first used.
  std::vector<std::shared_ptr<labrpc::ClientEnd>> tester_ends_ ABSL_GUARDED_BY(mu_);
  int64_t end_counter_ ABSL_GUARDED_BY(mu_) = 0;
  // Per peer: the commands it has applied, by index.
  std::vector<std::map<int64_t, std::string>> logs_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> last_applied_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> apply_delay_ ABSL_GUARDED_BY(mu_);  // SetApplyDelay
  int64_t max_index_ ABSL_GUARDED_BY(mu_) = 0;

  // Read by RPC handlers without mu_ (taking it would add a scheduling point
  // to every RPC in sim, and change every run's schedule).
  // cut_[from * n_ + to]: the link from -> to is cut (SetLink).
  const std::unique_ptr<std::atomic<bool>[]> cut_;
  const std::unique_ptr<std::atomic<int64_t>[]> append_entries_count_;
  // hold_[from * n_ + to]: where HoldLink is for that link, and when it
  // was released (runtime clock, microseconds since the Unix epoch).
  static constexpr int kHoldNone = 0;
  static constexpr int kHoldArmed = 1;     // waiting for an AppendEntries reaching hold_index_
  static constexpr int kHoldReplying = 2;  // holding its reply, and later requests
  static constexpr int kHoldReleased = 3;
  const std::unique_ptr<std::atomic<int>[]> hold_;
  const std::unique_ptr<std::atomic<int64_t>[]> hold_index_;
  const std::unique_ptr<std::atomic<int64_t>[]> released_at_us_;
  // Called by the handlers too; it has its own lock (no scheduling point).
  SafetyMonitor monitor_;
};

// Runs a Lab 2 test body in a world made from the environment: RunLabTest
// (raft/tester.h) for bazel-bin/raft/raft_test.
void RunRaftTest(const std::function<void()>& body);

}  // namespace raft

#endif  // RAFT_CONFIG_H_
