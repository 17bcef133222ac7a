// raft/trace_hooks.cc
//
// The testers' trace records; see trace_hooks.h.

#include "raft/trace_hooks.h"

#include <algorithm>
#include <regex>

#include "absl/strings/str_cat.h"
#include "labrpc/network.h"
#include "raft/raft.h"

namespace raft::tracing {
namespace {

namespace trace = lab::trace;

// Debian's Abseil has its own string_view.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// How Raft's messages appear in rpc records, and the state their senders
// reveal. Registered once, when the tester library is loaded.
const bool kRegistered = [] {
  labrpc::DescribeInTrace<RequestVoteArgs>([](const RequestVoteArgs& a, Fields& f) {
    f.Int("term", a.term)
        .Int("candidate_id", a.candidate_id)
        .Int("last_log_index", a.last_log_index)
        .Int("last_log_term", a.last_log_term);
    const std::string me = trace::CurrentActor();
    if (!me.empty()) trace::State(me, {.term = a.term, .role = "candidate"});
  });
  labrpc::DescribeInTrace<RequestVoteReply>([](const RequestVoteReply& r, Fields& f) {
    f.Int("term", r.term).Bool("vote_granted", r.vote_granted);
  });
  labrpc::DescribeInTrace<AppendEntriesArgs>([](const AppendEntriesArgs& a, Fields& f) {
    f.Int("term", a.term)
        .Int("leader_id", a.leader_id)
        .Int("prev_log_index", a.prev_log_index)
        .Int("prev_log_term", a.prev_log_term)
        .Int("entries", static_cast<int64_t>(a.entries.size()))
        .Int("leader_commit", a.leader_commit);
    const std::string me = trace::CurrentActor();
    if (!me.empty()) {
      trace::State(me, {.term = a.term, .role = "leader", .commit = a.leader_commit});
    }
  });
  labrpc::DescribeInTrace<AppendEntriesReply>([](const AppendEntriesReply& r, Fields& f) {
    f.Int("term", r.term).Bool("success", r.success);
  });
  labrpc::DescribeInTrace<InstallSnapshotArgs>([](const InstallSnapshotArgs& a, Fields& f) {
    f.Int("term", a.term)
        .Int("leader_id", a.leader_id)
        .Int("last_included_index", a.last_included_index)
        .Int("last_included_term", a.last_included_term)
        .Int("data_bytes", static_cast<int64_t>(a.data.size()));
  });
  labrpc::DescribeInTrace<InstallSnapshotReply>(
      [](const InstallSnapshotReply& r, Fields& f) { f.Int("term", r.term); });
  return true;
}();

}  // namespace

Fields Peer(std::string_view name) { return Fields().Str("peer", name); }

std::string ShortCommand(const std::string& command) {
  constexpr size_t kMax = 40;
  if (command.size() <= kMax) return command;
  return absl::StrCat(command.substr(0, kMax), "... (", command.size(), " bytes)");
}

void Tester(std::string_view event, Fields fields) {
  if (!trace::On()) return;
  trace::Emit("tester", Fields().Str("event", event).Merge(fields));
}

void Partition(const std::vector<std::vector<std::string>>& groups) {
  if (!trace::On()) return;
  std::string json = "[";
  for (size_t g = 0; g < groups.size(); ++g) {
    absl::StrAppend(&json, g > 0 ? ",[" : "[");
    for (size_t k = 0; k < groups[g].size(); ++k) {
      absl::StrAppend(&json, k > 0 ? "," : "", trace::Quote(groups[g][k]));
    }
    json += "]";
  }
  json += "]";
  Tester("partition", Fields().Raw("groups", json));
}

void Crash(std::string_view peer) {
  if (!trace::On()) return;
  Tester("crash", Peer(peer));
  trace::State(peer, {.role = "dead"});
}

void Start(std::string_view peer, const std::string& command, const StartResult& r) {
  if (!trace::On()) return;
  Tester("start", Peer(peer)
                      .Str("command", ShortCommand(command))
                      .Int("index", r.index)
                      .Int("term", r.term)
                      .Bool("is_leader", r.is_leader));
}

void Observed(std::string_view peer, int64_t term, bool is_leader) {
  if (!trace::On() || term < 0) return;
  std::string role = "leader";
  if (!is_leader) {
    // A candidate says it is not the leader: keep "candidate" in the term
    // its RequestVotes showed.
    const auto [last_role, last_term] = trace::LastRole(peer);
    role = last_role == "candidate" && last_term == term ? "candidate" : "follower";
  }
  trace::State(peer, {.term = term, .role = role});
}

void Check(std::string_view what, std::string_view result) {
  if (!trace::On()) return;
  Tester("check", Fields().Str("what", what).Str("result", result));
}

void Applied(std::string_view peer, const ApplyMsg& m) {
  if (!trace::On()) return;
  Fields f = Peer(peer);
  if (m.snapshot_valid) {
    f.Int("snapshot_index", m.snapshot_index).Int("snapshot_term", m.snapshot_term);
    trace::Emit("apply", f);
    trace::State(peer, {.applied = m.snapshot_index, .snapshot_index = m.snapshot_index});
    return;
  }
  if (!m.command_valid) return;
  f.Int("index", m.command_index).Int("term", m.command_term).Str("command",
                                                                    ShortCommand(m.command));
  trace::Emit("apply", f);
  trace::State(peer, {.applied = m.command_index});
}

ClerkOp::ClerkOp(int clerk, std::string_view op, std::string_view key, std::string_view value)
    : on_(trace::On()),
      client_(absl::StrCat("clerk ", clerk)),
      op_(op),
      key_(key),
      actor_(on_ ? client_ : std::string()) {
  if (!on_) return;
  id_ = trace::NewId();
  trace::Emit("op", Common("call").Str("value", ShortCommand(std::string(value))));
}

void ClerkOp::Return(std::string_view output) {
  if (!on_) return;
  trace::Emit("op", Common("return").Str("output", ShortCommand(std::string(output))));
}

Fields ClerkOp::Common(const char* phase) const {
  return Fields().Int("id", id_).Str("client", client_).Str("op", op_).Str("key", key_).Str(
      "phase", phase);
}

void Violation(std::string_view what) {
  if (!trace::On() || !trace::FirstTime(absl::StrCat("violation ", A(what)))) return;
  // The peers the monitor's message names: "peer 3", "peers 2 and 0".
  std::vector<std::string> peers;
  static const std::regex kPeers("peers? (\\d+)(?: and (\\d+))?");
  const std::string text(what);
  for (std::sregex_iterator m(text.begin(), text.end(), kPeers), end; m != end; ++m) {
    for (size_t g = 1; g < m->size(); ++g) {
      if (!(*m)[g].matched) continue;
      std::string name = trace::PeerName(std::stoi((*m)[g].str()));
      if (std::find(peers.begin(), peers.end(), name) == peers.end()) peers.push_back(name);
    }
  }
  trace::Emit("violation", Fields().Str("what", what).StrList("peers", peers));
}

void Failure(std::string_view text, const char* file, int line) {
  if (!trace::On()) return;
  trace::Emit("failure", Fields().Str("text", text).Str("file", file).Int("line", line));
}

}  // namespace raft::tracing
