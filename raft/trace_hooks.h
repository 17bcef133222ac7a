// raft/trace_hooks.h
//
// What the Lab 2 and Lab 3 testers put into a trace (trace/SCHEMA.md;
// labrpc/runtime/trace.h): their actions, the peers' state as the tester
// sees it, every ApplyMsg, safety violations and failures. Framework, not
// student code. Each hook is one call in the tester, and does nothing unless
// a trace is being recorded. None makes a blocking runtime call, so a traced
// run keeps its schedule.
//
//   tracing::Tester("crash", tracing::Peer(ServerName(i)));
//   tracing::Applied(ServerName(i), msg);
//
// Linking this library also registers how Raft's RPC messages appear in
// `rpc` records (their terms, indices and counts), and infers state from
// them: a RequestVote sender is a candidate in its term, an AppendEntries
// sender the leader of its term with that commit index.

#ifndef RAFT_TRACE_HOOKS_H_
#define RAFT_TRACE_HOOKS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "labrpc/runtime/trace.h"

// Declared, not included: raft/raft.h is the student's, and its macros
// must not reach the tester's files that include this one (raft/tester.cc).
namespace raft {
struct ApplyMsg;
struct StartResult;
}  // namespace raft

namespace raft::tracing {

using lab::trace::Fields;

// Fields naming one peer: {"peer": name}.
Fields Peer(std::string_view name);

// A `tester` record: what the harness did (event "crash", "restart",
// "connect", "disconnect", "partition", "link", "begin", "phase", ...)
// with the event's fields.
void Tester(std::string_view event, Fields fields = Fields());
// A partition: the groups that can talk among themselves.
void Partition(const std::vector<std::vector<std::string>>& groups);
// A crashed peer: the tester event and its role "dead".
void Crash(std::string_view peer);
// Start() on `peer` and its result.
void Start(std::string_view peer, const std::string& command, const StartResult& r);
// A GetState or Start result: the peer's term and role.
void Observed(std::string_view peer, int64_t term, bool is_leader);
// A check passed: what (e.g. "checkOneLeader", "one(\"101\")") and its result.
void Check(std::string_view what, std::string_view result);
// An ApplyMsg the tester received from `peer`.
void Applied(std::string_view peer, const ApplyMsg& m);
// A safety monitor's finding (each distinct one once), with the peers it
// names.
void Violation(std::string_view what);
// The check that failed the test.
void Failure(std::string_view text, const char* file, int line);

// A KV clerk operation (`op` records): the call when made, the return by
// Return(); while it lives, the calling task's RPCs are the clerk's.
class ClerkOp {
 public:
  ClerkOp(int clerk, std::string_view op, std::string_view key, std::string_view value);
  void Return(std::string_view output);
  ClerkOp(const ClerkOp&) = delete;
  ClerkOp& operator=(const ClerkOp&) = delete;

 private:
  lab::trace::Fields Common(const char* phase) const;
  const bool on_;
  const std::string client_;
  const std::string op_;
  const std::string key_;
  int64_t id_ = 0;
  lab::trace::ActorScope actor_;
};

// A command as a record shows it: long ones cut short.
std::string ShortCommand(const std::string& command);

}  // namespace raft::tracing

#endif  // RAFT_TRACE_HOOKS_H_
