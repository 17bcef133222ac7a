// raft/config.cc
//
// The Lab 2 tester; see config.h. Framework, not student code.

#include "raft/config.h"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "labrpc/codec.h"
#include "raft/trace_hooks.h"

namespace raft {
namespace {

// What the snapshot applier snapshots: every command up to an index
// (Go's lastIncludedIndex and xlog; log[0] is unused).
struct SnapshotState {
  int64_t last_included_index = 0;
  std::vector<std::string> log;
  template <class A>
  void serialize(A& a) {
    a(last_included_index, log);
  }
};

// A command for a message: long ones (RPCBytes's) are cut short.
std::string Show(const std::string& command) {
  constexpr size_t kMax = 40;
  if (command.size() <= kMax) return absl::StrCat("\"", command, "\"");
  return absl::StrCat("\"", command.substr(0, kMax), "...\" (", command.size(), " bytes)");
}

}  // namespace

std::string Cmd(int64_t x) { return std::to_string(x); }

int64_t RandomCommand() { return lab::RandInt(0, std::numeric_limits<int64_t>::max()); }

std::string RandomString(int n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string s(static_cast<size_t>(n), ' ');
  for (char& c : s) c = kAlphabet[lab::RandInt(0, 64)];
  return s;
}

// --- Set-up and teardown -------------------------------------------------------

Config::Config(int n, bool unreliable, bool snapshot)
    : Tester(n, {.name = "raft tester", .server = "peer", .prefix = "raft-", .count_bytes = true}),
      snapshot_(snapshot),
      cut_(new std::atomic<bool>[static_cast<size_t>(n) * n]()),
      append_entries_count_(new std::atomic<int64_t>[static_cast<size_t>(n)]()),
      hold_(new std::atomic<int>[static_cast<size_t>(n) * n]()),
      hold_index_(new std::atomic<int64_t>[static_cast<size_t>(n) * n]()),
      released_at_us_(new std::atomic<int64_t>[static_cast<size_t>(n) * n]()),
      monitor_(n) {
  {
    lab::MutexLock l(&mu_);
    peers_.resize(n);
    connected_.assign(n, false);
    saved_.resize(n);
    end_names_.resize(n);
    tester_ends_.resize(n);
    logs_.resize(n);
    last_applied_.assign(n, 0);
    apply_delay_.assign(n, absl::ZeroDuration());
  }
  SetUnreliable(unreliable);
  net_->LongDelays(true);
  StartWatchdog();

  const ApplierKind applier = snapshot ? ApplierKind::kSnapshot : ApplierKind::kPlain;
  for (int i = 0; i < n; ++i) Start1(i, applier);
  for (int i = 0; i < n; ++i) Connect(i);
}

Config::~Config() {
  // The tester's tasks first (they call into peers), then the peers, then
  // the network. Nothing here throws.
  StopTesterTasks();
  std::vector<std::shared_ptr<Peer>> peers;
  std::vector<std::shared_ptr<void>> zombies;
  {
    lab::MutexLock l(&mu_);
    peers = std::move(peers_);
    zombies = std::move(zombies_);
  }
  StopServers(std::move(peers));
  {
    lab::MutexLock l(&mu_);
    for (auto& z : zombies_) zombies.push_back(std::move(z));
  }
  zombies.clear();  // their groups report stuck tasks and stop the process
  net_.reset();
}

std::shared_ptr<Config::Peer> Config::PeerOf(int i) const {
  lab::MutexLock l(&mu_);
  return peers_[i];
}

void Config::KillServersLocked() {
  for (const std::shared_ptr<Peer>& peer : peers_) {
    if (peer != nullptr) peer->group->Kill();
  }
}

int64_t Config::CostCountLocked() const { return max_index_; }

// --- Peers ----------------------------------------------------------------------

void Config::Crash1(int i) {
  Disconnect(i);
  net_->DeleteServer(ServerName(i));
  // Before the copy: a vote the old instance grants from now on is not one.
  monitor_.Crashed(i);
  std::shared_ptr<Peer> peer;
  std::vector<std::string> ends;
  {
    lab::MutexLock l(&mu_);
    // A new persister, so the old instance cannot change what the next one
    // reads; it holds what was persisted up to now.
    if (saved_[i] != nullptr) saved_[i] = saved_[i]->Copy();
    peer = std::move(peers_[i]);
    // Its ends are the killed instance's now (Retire points them at a
    // sentinel); Start1 makes new ones.
    ends = std::move(end_names_[i]);
    end_names_[i].clear();
  }
  if (peer != nullptr) tracing::Crash(ServerName(i));
  if (peer != nullptr) Retire(i, std::move(peer), ends);
}

void Config::Start1(int i) {
  ApplierKind applier = snapshot_ ? ApplierKind::kSnapshot : ApplierKind::kPlain;
  Start1(i, applier);
}

void Config::Start1(int i, ApplierKind applier) {
  CheckFailed();
  Crash1(i);

  // Fresh end names, so the old instance's ends (if any were left) reach
  // nobody.
  std::vector<std::string> names(n_);
  {
    lab::MutexLock l(&mu_);
    const int64_t generation = ++end_counter_;
    for (int j = 0; j < n_; ++j) names[j] = absl::StrCat(i, "->", j, "#", generation);
  }
  std::vector<std::shared_ptr<labrpc::ClientEnd>> ends(n_);
  for (int j = 0; j < n_; ++j) {
    ends[j] = net_->MakeEnd(names[j]);
    net_->Connect(names[j], ServerName(j));
  }

  std::shared_ptr<labrpc::Persister> persister;
  std::string error;
  {
    lab::MutexLock l(&mu_);
    end_names_[i] = names;
    last_applied_[i] = 0;
    // A copy of what the previous instance persisted, so it cannot change
    // what this one reads.
    if (saved_[i] != nullptr) {
      saved_[i] = saved_[i]->Copy();
      // Stand in for the service: restore the snapshot at once. (Raft
      // hands the service only snapshots it installs while running.)
      std::string snapshot = saved_[i]->ReadSnapshot();
      if (!snapshot.empty()) error = IngestSnapshotLocked(i, snapshot, -1);
    } else {
      saved_[i] = std::make_shared<labrpc::Persister>();
    }
    persister = saved_[i];
  }
  if (!error.empty()) Fail(error);

  auto peer = std::make_shared<Peer>();
  peer->group = std::make_unique<lab::TaskGroup>(ServerName(i));
  auto apply_ch = std::make_shared<lab::Chan<ApplyMsg>>();
  {
    // Raft's own tasks (lab::Go in its constructor) join the peer's group.
    lab::TaskGroup::Scope scope(*peer->group);
    peer->service = std::make_unique<Raft>(ends, i, persister, apply_ch);
    // One vote per term across restarts: before it can hear from anyone,
    // the peer must refuse a second vote in the last term it voted in.
    if (std::optional<RequestVoteArgs> probe = monitor_.VoteProbe(i)) {
      RequestVoteReply reply;
      peer->service->RequestVote(*probe, &reply);
      ReportViolation(monitor_.ObserveVoteProbe(i, *probe, reply));
    }
  }
  Raft* rf = peer->service.get();
  std::shared_ptr<KillWatch> watch = peer->watch;
  if (applier == ApplierKind::kSnapshot) {
    peer->group->Go("tester applier", [this, i, rf, apply_ch, watch] {
      SnapshotApplier(i, rf, *apply_ch, *watch);
    });
  } else {
    peer->group->Go("tester applier",
                    [this, i, apply_ch, watch] { PlainApplier(i, *apply_ch, *watch); });
  }

  auto server = std::make_shared<labrpc::Server>(peer->group.get());
  server->AddService(MakeService(i, rf));
  {
    lab::MutexLock l(&mu_);
    peers_[i] = std::move(peer);
  }
  net_->AddServer(ServerName(i), std::move(server));
  tracing::Tester("restart", tracing::Peer(ServerName(i)));
}

std::shared_ptr<labrpc::Service> Config::MakeService(int i, Raft* rf) {
  // The wrappers make no runtime call unless a test asked for one (SetLink,
  // HoldLink) or the monitor finds a violation, so they leave every
  // schedule as it was.
  auto svc = std::make_shared<labrpc::Service>("Raft");
  const int64_t instance = monitor_.Instance(i);
  svc->Register<RequestVoteArgs, RequestVoteReply>(
      "RequestVote",
      [this, i, rf, instance](const RequestVoteArgs& args, RequestVoteReply* reply) {
        WaitIfHeld(args.candidate_id, i, /*reaches=*/0);
        rf->RequestVote(args, reply);
        ReportViolation(monitor_.ObserveRequestVote(i, args, *reply, instance));
        DropReplyIfCut(i, args.candidate_id);
      });
  svc->Register<AppendEntriesArgs, AppendEntriesReply>(
      "AppendEntries", [this, i, rf](const AppendEntriesArgs& args, AppendEntriesReply* reply) {
        const bool hold_reply = WaitIfHeld(
            args.leader_id, i, args.prev_log_index + static_cast<int64_t>(args.entries.size()));
        append_entries_count_[i].fetch_add(1);
        ReportViolation(monitor_.ObserveAppendEntries(i, args));
        rf->AppendEntries(args, reply);
        monitor_.ObserveAppendEntriesReply(i, args, *reply);
        if (hold_reply) WaitForRelease(args.leader_id, i, absl::ZeroDuration());
        DropReplyIfCut(i, args.leader_id);
      });
  svc->Register<InstallSnapshotArgs, InstallSnapshotReply>(
      "InstallSnapshot",
      [this, i, rf](const InstallSnapshotArgs& args, InstallSnapshotReply* reply) {
        WaitIfHeld(args.leader_id, i, /*reaches=*/0);
        ReportViolation(monitor_.ObserveInstallSnapshot(i, args));
        rf->InstallSnapshot(args, reply);
        monitor_.ObserveInstallSnapshotReply(i, args, *reply);
        DropReplyIfCut(i, args.leader_id);
      });
  return svc;
}

void Config::HoldLink(int from, int to, int64_t index) {
  const size_t k = static_cast<size_t>(from) * n_ + to;
  hold_index_[k].store(index);
  hold_[k].store(kHoldArmed);
}

void Config::ReleaseLink(int from, int to) {
  const size_t k = static_cast<size_t>(from) * n_ + to;
  released_at_us_[k].store(absl::ToUnixMicros(lab::Now()));
  hold_[k].store(kHoldReleased);
}

bool Config::WaitIfHeld(int from, int to, int64_t reaches) {
  if (from < 0 || from >= n_) return false;
  const size_t k = static_cast<size_t>(from) * n_ + to;
  std::atomic<int>& hold = hold_[k];
  int state = hold.load();
  if (state == kHoldNone) return false;
  if (state == kHoldArmed) {
    // Until an AppendEntries reaches the index, the link works.
    return reaches >= hold_index_[k].load() && hold.compare_exchange_strong(state, kHoldReplying);
  }
  // A request after the held one arrives a second after the release, so
  // the held reply gets there first.
  WaitForRelease(from, to, absl::Seconds(1));
  return false;
}

void Config::WaitForRelease(int from, int to, absl::Duration after) {
  const size_t k = static_cast<size_t>(from) * n_ + to;
  while (hold_[k].load() != kHoldReleased ||
         lab::Now() < absl::FromUnixMicros(released_at_us_[k].load()) + after) {
    lab::SleepFor(absl::Milliseconds(10));
  }
}

void Config::DropReplyIfCut(int i, int caller) const {
  if (caller < 0 || caller >= n_ || !cut_[static_cast<size_t>(i) * n_ + caller].load()) return;
  // labrpc fails a call whose handler task ends without replying (as when
  // the server is crashed mid-call): end this one the way a killed task
  // ends. The runtime takes TaskKilled as a normal end of the task.
  throw lab::TaskKilled{};
}

void Config::ReportViolation(const std::string& violation) {
  if (violation.empty()) return;
  tracing::Violation(violation);
  RecordFailure(absl::StrCat(violation, "; ", monitor_.DescribePeers(),
                             "; replay: ", CurrentReplayCommand()));
}

void Config::ObserveState(int i, int64_t term, bool is_leader) {
  tracing::Observed(ServerName(i), term, is_leader);
  ReportViolation(monitor_.ObserveState(i, term, is_leader));
}

void Config::Connect(int i) {
  tracing::Tester("connect", tracing::Peer(ServerName(i)));
  lab::MutexLock l(&mu_);
  connected_[i] = true;
  for (int j = 0; j < n_; ++j) {
    if (!connected_[j]) continue;
    // Outgoing ends, then incoming; a link SetLink cut stays cut.
    if (!end_names_[i].empty()) {
      net_->Enable(end_names_[i][j], !cut_[static_cast<size_t>(i) * n_ + j].load());
    }
    if (!end_names_[j].empty()) {
      net_->Enable(end_names_[j][i], !cut_[static_cast<size_t>(j) * n_ + i].load());
    }
  }
}

void Config::SetLink(int from, int to, bool works) {
  tracing::Tester("link", tracing::Fields().Str("from", ServerName(from)).Str("to", ServerName(to))
                              .Bool("enabled", works));
  lab::MutexLock l(&mu_);
  cut_[static_cast<size_t>(from) * n_ + to].store(!works);
  if (connected_[from] && connected_[to] && !end_names_[from].empty()) {
    net_->Enable(end_names_[from][to], works);
  }
}

void Config::Disconnect(int i) {
  tracing::Tester("disconnect", tracing::Peer(ServerName(i)));
  lab::MutexLock l(&mu_);
  connected_[i] = false;
  for (int j = 0; j < n_; ++j) {
    if (!end_names_[i].empty()) net_->Enable(end_names_[i][j], false);
    if (!end_names_[j].empty()) net_->Enable(end_names_[j][i], false);
  }
}

std::shared_ptr<labrpc::ClientEnd> Config::TesterEnd(int i) {
  lab::MutexLock l(&mu_);
  if (tester_ends_[i] == nullptr) {
    // Not one of the peers' ends: Connect and Disconnect leave it alone.
    const std::string name = absl::StrCat("tester->", i);
    tester_ends_[i] = net_->MakeEnd(name);
    net_->Connect(name, ServerName(i));
    net_->Enable(name, true);
  }
  return tester_ends_[i];
}

bool Config::SendAsPeer(int i, const RequestVoteArgs& args, RequestVoteReply* reply) {
  return TesterEnd(i)->Call("Raft.RequestVote", args, reply);
}

bool Config::SendAsPeer(int i, const AppendEntriesArgs& args, AppendEntriesReply* reply) {
  return TesterEnd(i)->Call("Raft.AppendEntries", args, reply);
}

bool Config::connected(int i) const {
  lab::MutexLock l(&mu_);
  return connected_[i];
}

bool Config::alive(int i) const { return PeerOf(i) != nullptr; }

void Config::SetUnreliable(bool unreliable) { net_->Reliable(!unreliable); }

void Config::SetLongReordering(bool on) { net_->LongReordering(on); }

void Config::SetApplyDelay(int i, absl::Duration per_command) {
  lab::MutexLock l(&mu_);
  apply_delay_[i] = per_command;
}

StartResult Config::Start(int i, const std::string& command) {
  std::shared_ptr<Peer> peer = PeerOf(i);
  if (peer == nullptr) return StartResult{-1, -1, false};
  // Tasks Start spawns (to send AppendEntries at once) belong to the peer.
  StartResult r;
  {
    lab::TaskGroup::Scope scope(*peer->group);
    r = peer->service->Start(command);
  }
  tracing::Start(ServerName(i), command, r);
  ObserveState(i, r.term, r.is_leader);
  return r;
}

std::pair<int64_t, bool> Config::GetState(int i) {
  std::shared_ptr<Peer> peer = PeerOf(i);
  if (peer == nullptr) return {-1, false};
  std::pair<int64_t, bool> state;
  {
    lab::TaskGroup::Scope scope(*peer->group);
    state = peer->service->GetState();
  }
  ObserveState(i, state.first, state.second);
  return state;
}

// --- Appliers -------------------------------------------------------------------

std::string Config::CheckLogsLocked(int i, const ApplyMsg& m, bool* prev_ok) {
  std::string error;
  const std::string& v = m.command;
  for (int j = 0; j < n_; ++j) {
    auto it = logs_[j].find(m.command_index);
    if (it != logs_[j].end() && it->second != v) {
      // Some server has already committed a different value for this entry!
      error = absl::StrCat("commit index=", m.command_index, " server=", i, " ", Show(v),
                           " != server=", j, " ", Show(it->second));
    }
  }
  *prev_ok = logs_[i].count(m.command_index - 1) > 0;
  logs_[i][m.command_index] = v;
  if (error.empty()) monitor_.ObserveApplied(m.command_index, v);
  if (m.command_index > max_index_) max_index_ = m.command_index;
  return error;
}

bool Config::AfterKill(int i, KillWatch& watch, const ApplyMsg& m) {
  if (!watch.killed()) return false;
  const std::string error =
      watch.OnApply(m.snapshot_valid ? m.snapshot_index : m.command_index, lab::Now());
  if (!error.empty()) RecordFailure(absl::StrCat("peer ", i, "'s killed instance ", error));
  return true;
}

void Config::PlainApplier(int i, lab::Chan<ApplyMsg>& ch, KillWatch& watch) {
  // The last index this instance applied: a live peer's commit index never
  // goes back, so it applies each index once, in order.
  int64_t last = 0;
  while (std::optional<ApplyMsg> m = ch.Recv()) {
    if (AfterKill(i, watch, *m)) continue;
    tracing::Applied(ServerName(i), *m);
    if (!m->command_valid) continue;  // ignore other kinds of ApplyMsg
    std::string error;
    absl::Duration delay;
    {
      lab::MutexLock l(&mu_);
      delay = apply_delay_[i];
      if (m->command_index <= last) {
        error = absl::StrCat("server ", i, " applied index ", m->command_index, " after index ",
                             last, ": a live peer applies each index once, in order (did its "
                             "commit index go back?)");
      } else {
        bool prev_ok = false;
        error = CheckLogsLocked(i, *m, &prev_ok);
        if (error.empty() && m->command_index > 1 && !prev_ok) {
          error = absl::StrCat("server ", i, " apply out of order ", m->command_index);
        }
      }
      last = std::max(last, m->command_index);
    }
    // Keep reading after an error, so that Raft does not block.
    if (!error.empty()) RecordFailure(absl::StrCat("apply error: ", error));
    if (delay > absl::ZeroDuration()) lab::SleepFor(delay);
  }
}

std::string Config::IngestSnapshotLocked(int i, const std::string& snapshot, int64_t index) {
  SnapshotState state;
  if (snapshot.empty()) return absl::StrCat("server ", i, " got an empty snapshot");
  if (absl::Status s = labrpc::Decode(snapshot, &state); !s.ok()) {
    return absl::StrCat("server ", i, ": snapshot decode error: ", s.message());
  }
  if (index != -1 && index != state.last_included_index) {
    return absl::StrCat("server ", i, " snapshot doesn't match m.SnapshotIndex (",
                        state.last_included_index, " in the snapshot, ", index, " in the message)");
  }
  if (static_cast<int64_t>(state.log.size()) != state.last_included_index + 1) {
    return absl::StrCat("server ", i, " snapshot of index ", state.last_included_index, " holds ",
                        state.log.size(), " entries");
  }
  // What it holds must agree with what every peer applied.
  for (int j = 0; j < n_; ++j) {
    if (j == i) continue;
    for (const auto& [k, v] : logs_[j]) {
      if (k < 1 || k > state.last_included_index) continue;
      if (state.log[static_cast<size_t>(k)] != v) {
        return absl::StrCat("snapshot index=", k, " server=", i, " ",
                            Show(state.log[static_cast<size_t>(k)]), " != server=", j, " ",
                            Show(v));
      }
    }
  }
  logs_[i].clear();
  for (int64_t k = 1; k <= state.last_included_index; ++k) {
    logs_[i][k] = std::move(state.log[static_cast<size_t>(k)]);
  }
  last_applied_[i] = state.last_included_index;
  return "";
}

void Config::SnapshotApplier(int i, Raft* rf, lab::Chan<ApplyMsg>& ch, KillWatch& watch) {
  while (std::optional<ApplyMsg> m = ch.Recv()) {
    if (AfterKill(i, watch, *m)) continue;
    tracing::Applied(ServerName(i), *m);
    std::string error;
    std::string snapshot;
    absl::Duration delay;
    if (m->snapshot_valid) {
      lab::MutexLock l(&mu_);
      if (m->snapshot_index < last_applied_[i]) {
        // The service would go back in time.
        error = absl::StrCat("server ", i, " delivered a snapshot of index ", m->snapshot_index,
                             " after applying up to index ", last_applied_[i],
                             ": a live peer's applied index never goes back (an older snapshot "
                             "than what was applied must be ignored)");
      } else {
        error = IngestSnapshotLocked(i, m->snapshot, m->snapshot_index);
      }
    } else if (m->command_valid) {
      lab::MutexLock l(&mu_);
      delay = apply_delay_[i];
      if (m->command_index != last_applied_[i] + 1) {
        error = absl::StrCat("server ", i, " apply out of order, expected index ",
                             last_applied_[i] + 1, ", got ", m->command_index);
      }
      if (error.empty()) {
        bool prev_ok = false;
        error = CheckLogsLocked(i, *m, &prev_ok);
        if (error.empty() && m->command_index > 1 && !prev_ok) {
          error = absl::StrCat("server ", i, " apply out of order ", m->command_index);
        }
      }
      last_applied_[i] = m->command_index;
      if ((m->command_index + 1) % kSnapshotInterval == 0) {
        SnapshotState state;
        state.last_included_index = m->command_index;
        state.log.resize(static_cast<size_t>(m->command_index + 1));
        for (int64_t k = 1; k <= m->command_index; ++k) {
          auto it = logs_[i].find(k);
          if (it != logs_[i].end()) state.log[static_cast<size_t>(k)] = it->second;
        }
        snapshot = labrpc::Encode(state);
      }
    }
    // Ignore other kinds of ApplyMsg.
    if (!snapshot.empty()) rf->Snapshot(m->command_index, std::move(snapshot));
    // Keep reading after an error, so that Raft does not block.
    if (!error.empty()) RecordFailure(absl::StrCat("apply error: ", error));
    if (delay > absl::ZeroDuration()) lab::SleepFor(delay);
  }
}

// --- Checks ---------------------------------------------------------------------

int Config::CheckOneLeader() {
  for (int iters = 0; iters < 10; ++iters) {
    CheckFailed();
    lab::SleepFor(absl::Milliseconds(lab::RandInt(450, 550)));
    CheckFailed();

    std::map<int64_t, std::vector<int>> leaders;
    for (int i = 0; i < n_; ++i) {
      if (!connected(i)) continue;
      auto [term, is_leader] = GetState(i);
      if (is_leader) leaders[term].push_back(i);
    }
    for (const auto& [term, ids] : leaders) {
      if (ids.size() > 1) {
        Fail(absl::StrCat("term ", term, " has ", ids.size(), " (>1) leaders"));
      }
    }
    if (!leaders.empty()) {
      tracing::Check("checkOneLeader", ServerName(leaders.rbegin()->second[0]));
      return leaders.rbegin()->second[0];  // the newest term's
    }
  }
  Fail("expected one leader, got none");
}

int64_t Config::CheckTerms() {
  CheckFailed();
  int64_t term = -1;
  for (int i = 0; i < n_; ++i) {
    if (!connected(i)) continue;
    const int64_t xterm = GetState(i).first;
    if (term == -1) {
      term = xterm;
    } else if (term != xterm) {
      Fail(absl::StrCat("servers disagree on term (", term, " and ", xterm, " at server ", i,
                        ")"));
    }
  }
  tracing::Check("checkTerms", absl::StrCat("term ", term));
  return term;
}

void Config::CheckNoLeader() {
  CheckFailed();
  for (int i = 0; i < n_; ++i) {
    if (connected(i) && GetState(i).second) {
      Fail(absl::StrCat("expected no leader among connected servers, but ", i,
                        " claims to be leader"));
    }
  }
  tracing::Check("checkNoLeader", "no leader");
}

Config::Committed Config::NCommitted(int64_t index) {
  CheckFailed();
  Committed result;
  std::string mismatch;
  {
    lab::MutexLock l(&mu_);
    for (int i = 0; i < n_ && mismatch.empty(); ++i) {
      auto it = logs_[i].find(index);
      if (it == logs_[i].end()) continue;
      if (result.count > 0 && result.command != it->second) {
        mismatch = absl::StrCat("committed values do not match: index ", index, ", ",
                                Show(result.command), ", ", Show(it->second));
      }
      ++result.count;
      result.command = it->second;
    }
  }
  if (!mismatch.empty()) Fail(mismatch);
  return result;
}

std::optional<std::string> Config::Wait(int64_t index, int n, int64_t start_term) {
  absl::Duration to = absl::Milliseconds(10);
  for (int iters = 0; iters < 30; ++iters) {
    if (NCommitted(index).count >= n) break;
    lab::SleepFor(to);
    if (to < absl::Seconds(1)) to *= 2;
    if (start_term > -1) {
      for (int i = 0; i < n_; ++i) {
        if (GetState(i).first > start_term) {
          // Someone has moved on: we can no longer guarantee that we'll "win".
          return std::nullopt;
        }
      }
    }
  }
  Committed c = NCommitted(index);
  if (c.count < n) {
    Fail(absl::StrCat("only ", c.count, " decided for index ", index, "; wanted ", n));
  }
  return c.command;
}

int64_t Config::One(const std::string& command, int expected, bool retry) {
  const absl::Time t0 = lab::Now();
  int starts = 0;
  while (lab::Now() - t0 < absl::Seconds(10)) {
    CheckFailed();
    // Try all the servers: maybe one is the leader.
    int64_t index = -1;
    StartResult accepted;
    int leader = -1;
    for (int si = 0; si < n_; ++si) {
      starts = (starts + 1) % n_;
      if (!connected(starts)) continue;
      StartResult r = Start(starts, command);
      if (r.is_leader) {
        index = r.index;
        accepted = r;
        leader = starts;
        break;
      }
    }
    if (index != -1) {
      // Somebody claimed to be the leader and to have submitted our
      // command; wait a while for agreement.
      const absl::Time t1 = lab::Now();
      while (lab::Now() - t1 < absl::Seconds(2)) {
        Committed c = NCommitted(index);
        if (c.count > 0 && c.count >= expected && c.command == command) {
          tracing::Check(absl::StrCat("one(", Show(command), ")"), absl::StrCat("index ", index));
          return index;  // committed, and it was the command we submitted
        }
        lab::SleepFor(absl::Milliseconds(20));
      }
      if (!retry) {
        Committed c = NCommitted(index);
        Fail(absl::StrCat("one(", Show(command), ") failed to reach agreement: peer ", leader,
                          " accepted it at index ", index, " in term ", accepted.term, "; after 2 s ",
                          c.count, " of ", expected, " wanted peers had committed that index; ",
                          DescribePeers()));
      }
    } else {
      lab::SleepFor(absl::Milliseconds(50));
    }
  }
  CheckFailed();
  Fail(absl::StrCat("one(", Show(command), ") failed to reach agreement in 10 s; ",
                    DescribePeers()));
}

std::string Config::DescribePeers() {
  std::string out = "peers now:";
  for (int i = 0; i < n_; ++i) {
    if (!alive(i)) {
      absl::StrAppend(&out, " ", i, " crashed;");
      continue;
    }
    const auto [term, is_leader] = GetState(i);
    absl::StrAppend(&out, " ", i, " term ", term, is_leader ? " leader" : "",
                    connected(i) ? "" : " (disconnected)", ";");
  }
  out.pop_back();
  return out;
}

// --- Counters -------------------------------------------------------------------

int64_t Config::RpcCount(int i) const { return net_->GetCount(ServerName(i)); }

int64_t Config::AppendEntriesCount(int i) const { return append_entries_count_[i].load(); }

int64_t Config::LogSize() const {
  lab::MutexLock l(&mu_);
  int64_t size = 0;
  for (const auto& p : saved_) {
    if (p != nullptr) size = std::max(size, p->RaftStateSize());
  }
  return size;
}

// --- The test wrapper -----------------------------------------------------------

void RunRaftTest(const std::function<void()>& body) { RunLabTest("bazel-bin/raft/raft_test", body); }

}  // namespace raft
