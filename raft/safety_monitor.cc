// raft/safety_monitor.cc
//
// Raft's safety properties, checked continuously; see safety_monitor.h.
// Framework, not student code.

#include "raft/safety_monitor.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace raft {
namespace {

size_t Hash(const std::string& command) { return std::hash<std::string>{}(command); }

}  // namespace

SafetyMonitor::SafetyMonitor(int n, std::string peer)
    : n_(n),
      peer_(std::move(peer)),
      last_seen_(static_cast<size_t>(n)),
      received_commit_(static_cast<size_t>(n), 0),
      crashes_(static_cast<size_t>(n)) {}

void SafetyMonitor::SeenLocked(int i, int64_t term, const char* role) {
  if (i < 0 || i >= n_) return;
  LastSeen& s = last_seen_[static_cast<size_t>(i)];
  if (term < s.term) return;  // an older message
  if (term > s.term) s.role = "";
  s.term = term;
  if (*role != '\0') s.role = role;
}

std::string SafetyMonitor::LeaderLocked(int i, int64_t term, const char* how) {
  SeenLocked(i, term, " leader");
  auto [it, fresh] = leader_of_term_.emplace(term, i);
  if (fresh || it->second == i) return "";
  return absl::StrCat("Election Safety violated: term ", term, " has two leaders, ", peer_, "s ",
                      it->second, " and ", i, " (", i, " seen by ", how, ")");
}

std::string SafetyMonitor::VoteLocked(int voter, int64_t term, int candidate, const char* how) {
  auto [it, fresh] = vote_.emplace(std::make_pair(voter, term), candidate);
  if (fresh || it->second == candidate) return "";
  return absl::StrCat("one vote per term violated: ", peer_, " ", voter, " voted for ",
                      it->second, " and for ", candidate, " in term ", term, " (", how,
                      "; across restarts, votedFor must be persisted)");
}

std::string SafetyMonitor::ObserveState(int i, int64_t term, bool is_leader) {
  TesterMutexLock l(&mu_);
  if (!is_leader) {
    SeenLocked(i, term, "");
    LastSeen& s = last_seen_[static_cast<size_t>(i)];
    if (s.term == term) s.role = "";  // it says so itself
    return "";
  }
  return LeaderLocked(i, term, "GetState or Start");
}

std::string SafetyMonitor::ObserveRequestVote(int i, const RequestVoteArgs& args,
                                              const RequestVoteReply& reply, int64_t instance) {
  TesterMutexLock l(&mu_);
  const int c = args.candidate_id;
  SeenLocked(c, args.term, " candidate");
  const bool live = instance < 0 || i < 0 || i >= n_ || instance == crashes_[static_cast<size_t>(i)];
  if (live) SeenLocked(i, reply.term, "");
  // A candidate votes for itself in the term it asks for votes in.
  std::string error = VoteLocked(c, args.term, c, "it asked for votes");
  if (error.empty() && reply.vote_granted && live) {
    error = VoteLocked(i, args.term, c, "it granted a RequestVote");
  }
  return error;
}

int64_t SafetyMonitor::CommittedBeforeLocked(int64_t term) const {
  int64_t k = 0;
  for (auto it = commit_in_term_.begin(); it != commit_in_term_.end() && it->first < term; ++it) {
    k = std::max(k, it->second);
  }
  return k;
}

std::string SafetyMonitor::ObserveAppendEntries(int i, const AppendEntriesArgs& args) {
  TesterMutexLock l(&mu_);
  SeenLocked(i, args.term, "");
  std::string error = LeaderLocked(args.leader_id, args.term, "its AppendEntries");
  if (!error.empty()) return error;
  error = CommitmentLocked(args);
  if (!error.empty()) return error;
  if (i >= 0 && i < n_) {
    int64_t& received = received_commit_[static_cast<size_t>(i)];
    received = std::max(received, args.leader_commit);
  }
  int64_t& commit = commit_in_term_[args.term];
  commit = std::max(commit, args.leader_commit);
  if (args.entries.empty()) return "";

  const int64_t committed = CommittedBeforeLocked(args.term);
  int64_t index = args.prev_log_index;
  for (const LogEntry& e : args.entries) {
    ++index;
    const size_t h = Hash(e.command);
    auto [it, fresh] = entry_.emplace(std::make_pair(index, e.term), h);
    if (!fresh && it->second != h) {
      return absl::StrCat("Log Matching violated: leader ", args.leader_id, " of term ", args.term,
                          " sent index ", index, " term ", e.term,
                          " with a different command than an earlier AppendEntries had for "
                          "that index and term");
    }
    if (index > committed) continue;
    auto a = applied_.find(index);
    if (a != applied_.end() && a->second != h) {
      return absl::StrCat("Leader Completeness violated: leader ", args.leader_id, " of term ",
                          args.term, " sent index ", index,
                          " with a command other than the one the peers applied there, though an "
                          "earlier term's leader had committed up to index ",
                          committed);
    }
  }
  return "";
}

std::string SafetyMonitor::CommitmentLocked(const AppendEntriesArgs& args) const {
  const int leader = args.leader_id;
  if (leader < 0 || leader >= n_) return "";
  // What the leader could know was committed before its term: what it
  // received, and what a majority acknowledged in terms it led before.
  int64_t known = received_commit_[static_cast<size_t>(leader)];
  int64_t backed = 0;
  for (auto it = backed_.lower_bound({leader, 0}); it != backed_.end() && it->first.first == leader;
       ++it) {
    if (it->first.second < args.term) known = std::max(known, it->second);
    if (it->first.second == args.term) backed = it->second;
  }
  if (args.leader_commit <= std::max(known, backed)) return "";
  return absl::StrCat(
      "Commitment violated: leader ", leader, " of term ", args.term, " says it committed index ",
      args.leader_commit, ", but in term ", args.term, " a majority acknowledged only up to index ",
      backed, ", and it could know of commits up to index ", known,
      " from before (is matchIndex fed by a reply to an earlier term's AppendEntries, or to a "
      "failed one?)");
}

void SafetyMonitor::AcknowledgedLocked(int i, int64_t term, int64_t index) {
  int64_t& ack = ack_[{term, i}];
  if (index <= ack) return;
  ack = index;
  auto leader = leader_of_term_.find(term);
  if (leader == leader_of_term_.end()) return;
  // The highest index that the leader and n/2 others acknowledged.
  std::vector<int64_t> acks;
  for (int p = 0; p < n_; ++p) {
    if (p == leader->second) continue;
    auto it = ack_.find({term, p});
    acks.push_back(it == ack_.end() ? 0 : it->second);
  }
  std::sort(acks.begin(), acks.end(), std::greater<>());
  const size_t others = static_cast<size_t>(n_ / 2);
  if (others == 0 || others > acks.size()) return;
  int64_t& backed = backed_[{leader->second, term}];
  backed = std::max(backed, acks[others - 1]);
}

void SafetyMonitor::ObserveAppendEntriesReply(int i, const AppendEntriesArgs& args,
                                              const AppendEntriesReply& reply) {
  if (!reply.success) return;
  TesterMutexLock l(&mu_);
  AcknowledgedLocked(i, args.term,
                     args.prev_log_index + static_cast<int64_t>(args.entries.size()));
}

std::string SafetyMonitor::ObserveInstallSnapshot(int i, const InstallSnapshotArgs& args) {
  TesterMutexLock l(&mu_);
  SeenLocked(i, args.term, "");
  if (i >= 0 && i < n_) {
    int64_t& received = received_commit_[static_cast<size_t>(i)];
    received = std::max(received, args.last_included_index);
  }
  return LeaderLocked(args.leader_id, args.term, "its InstallSnapshot");
}

void SafetyMonitor::ObserveInstallSnapshotReply(int i, const InstallSnapshotArgs& args,
                                                const InstallSnapshotReply& reply) {
  // A reply of a newer term is a refusal; otherwise the peer holds the
  // snapshot, or more.
  if (reply.term > args.term) return;
  TesterMutexLock l(&mu_);
  AcknowledgedLocked(i, args.term, args.last_included_index);
}

void SafetyMonitor::ObserveApplied(int64_t index, const std::string& command) {
  TesterMutexLock l(&mu_);
  applied_.emplace(index, Hash(command));
}

void SafetyMonitor::Crashed(int i) {
  TesterMutexLock l(&mu_);
  if (i >= 0 && i < n_) ++crashes_[static_cast<size_t>(i)];
}

int64_t SafetyMonitor::Instance(int i) const {
  TesterMutexLock l(&mu_);
  return i >= 0 && i < n_ ? crashes_[static_cast<size_t>(i)] : 0;
}

std::optional<RequestVoteArgs> SafetyMonitor::VoteProbe(int i) const {
  TesterMutexLock l(&mu_);
  // The votes are keyed (voter, term): i's last is just before (i + 1, 0).
  auto it = vote_.lower_bound(std::make_pair(i + 1, int64_t{0}));
  if (it == vote_.begin() || (--it)->first.first != i) return std::nullopt;
  const int64_t term = it->first.second;
  const int voted_for = it->second;
  int other = 0;
  while (other == voted_for || other == i) ++other;
  if (other >= n_) return std::nullopt;
  return RequestVoteArgs{term, other, std::numeric_limits<int64_t>::max(),
                         std::numeric_limits<int64_t>::max()};
}

std::string SafetyMonitor::ObserveVoteProbe(int i, const RequestVoteArgs& probe,
                                            const RequestVoteReply& reply) {
  if (!reply.vote_granted) return "";
  TesterMutexLock l(&mu_);
  return VoteLocked(i, probe.term, probe.candidate_id,
                    "it granted the tester's RequestVote just after its restart");
}

std::string SafetyMonitor::DescribePeers() const {
  TesterMutexLock l(&mu_);
  std::string out = absl::StrCat(peer_, "s as last seen:");
  for (int i = 0; i < n_; ++i) {
    const LastSeen& s = last_seen_[static_cast<size_t>(i)];
    absl::StrAppend(&out, i == 0 ? " " : "; ", i, " term ", s.term, s.role);
  }
  return out;
}

}  // namespace raft
