// labrpc/runtime/trace.h
//
// The trace recorder: what one test run did, as records of trace/SCHEMA.md
// (JSON Lines), for the viewers. Framework, not student code: lab code logs
// with LAB_LOG (log.h), whose lines land here while a trace is recorded.
//
//   if (lab::trace::On()) {
//     lab::trace::Emit("tester", lab::trace::Fields()
//                                    .Str("event", "crash")
//                                    .Str("peer", "raft-2"));
//   }
//
// Recording never changes a schedule: nothing here makes a lab runtime call
// that could switch tasks (no lab::Mutex, no lab::Go, no sleep, no random
// number). It takes a plain std::mutex for a few microseconds, and reads the
// runtime's clock, which in sim is a plain read of the virtual time. So a sim
// run replays the same with tracing on or off (trace_test checks it).
//
// Memory is bounded: `rpc` and `log` records, the bulk of a trace, go into a
// ring of the most recent Options::ring of them (what falls out is counted in
// `end.dropped`); every other record (tester actions, state, apply, op,
// violation, failure) is kept, so a trace always shows the whole skeleton of
// its run. A test binary run by the grader runs one test per process, so the
// failing test's records are the trace.
//
// The test wrapper (raft::RunLabTest) drives a run: BeginTestRun() before its
// world starts (it records only if LAB_TRACE names a file), EndTestRun() after.
//
// Thread safety: every function may be called from any task or thread.

#ifndef LABRPC_RUNTIME_TRACE_H_
#define LABRPC_RUNTIME_TRACE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lab::trace {

namespace internal {
extern std::atomic<bool> g_on;
}

// True while a trace is being recorded. A relaxed load: cheap enough to
// guard every hook.
inline bool On() { return internal::g_on.load(std::memory_order_relaxed); }

// The fields of one record (after `kind`, `t` and `seq`), built in order.
// Keys are plain identifiers (not escaped); values are escaped as JSON.
class Fields {
 public:
  Fields& Str(std::string_view key, std::string_view value);
  Fields& Int(std::string_view key, int64_t value);
  Fields& Bool(std::string_view key, bool value);
  // `json` must be a JSON value already (an object, a list).
  Fields& Raw(std::string_view key, std::string_view json);
  // A list of strings.
  Fields& StrList(std::string_view key, const std::vector<std::string>& values);
  // Appends `more`'s fields.
  Fields& Merge(const Fields& more);

  // `"k":v,"k2":v2` (no braces); empty if no field was added.
  const std::string& json() const { return s_; }
  bool empty() const { return s_.empty(); }

 private:
  void Key(std::string_view key);
  std::string s_;
};

// `s` as a JSON string literal, quotes included.
std::string Quote(std::string_view s);

// Adds a record of `kind` stamped with the runtime time since the world
// started (0 outside a world) and the next sequence number. Does nothing
// unless On().
void Emit(std::string_view kind, const Fields& fields);

// A fresh id for records that must be joined (rpc, op); unique per run.
int64_t NewId();

// A peer's state as the tester saw it (`state` records): the recorder keeps
// the last value of each field per peer and emits only the fields that
// changed (nothing if none did).
struct StateUpdate {
  std::optional<int64_t> term = std::nullopt;
  std::optional<std::string> role = std::nullopt;  // "leader" | "candidate" | "follower" | "dead"
  std::optional<int64_t> commit = std::nullopt;
  std::optional<int64_t> applied = std::nullopt;
  std::optional<int64_t> log_len = std::nullopt;
  std::optional<int64_t> snapshot_index = std::nullopt;
};
void State(std::string_view peer, const StateUpdate& update);
// The role last recorded for `peer` ("" if none), and its term (-1).
std::pair<std::string, int64_t> LastRole(std::string_view peer);

// While it lives, records made by the calling task (its RPCs, its log lines)
// name `actor` as their sender rather than the task's group: a KV clerk's
// calls, made in a tester task, come from "clerk 3". Scopes nest.
class ActorScope {
 public:
  explicit ActorScope(std::string actor);
  ~ActorScope();
  ActorScope(const ActorScope&) = delete;
  ActorScope& operator=(const ActorScope&) = delete;

 private:
  std::string saved_;
};

// Peer i's name as SetPeers made it (the decimal number if unknown).
std::string PeerName(int i);

// True the first time `key` is asked about in this run (to record a
// repeated finding once).
bool FirstTime(std::string_view key);

// The name a record gives the calling task's owner: its ActorScope's, or
// its task group's name, except that the world's root group (the test body)
// is "tester". "" outside a world.
std::string CurrentActor();

// --- Driving a run (the test wrapper and tests) ---------------------------

struct RunInfo {
  std::string test;     // "Raft2A.ReElection"
  std::string runtime;  // "sim" | "threads"
  std::optional<uint64_t> seed;  // sim only
  std::string replay;   // the command line that replays the run
};

struct Options {
  // Where EndRun writes the trace; "" keeps it in memory only (Lines()).
  std::string path;
  // How many rpc and log records the ring keeps.
  int64_t ring = 200'000;
};

// Starts recording a run (discarding any earlier one). On() from now on.
void BeginRun(const RunInfo& info, const Options& options);
// The run's actors, for its `run` record: peers in index order, clients as
// they come.
void SetPeers(std::string_view prefix, int n);
void AddClient(std::string_view name);
// Ends the run: adds the `end` record, stops recording, and writes the file
// (if Options::path). Returns what writing said.
absl::Status EndRun(bool passed);
// The recorded lines of the current (or last ended) run, in order, `run`
// first and, once ended, `end` last.
std::vector<std::string> Lines();

// LAB_TRACE: the file to write the trace to, with "{test}" replaced by the
// test's name ("" if unset), and LAB_TRACE_RING (a record count). An error
// says what was wrong.
absl::StatusOr<Options> OptionsFromEnv(std::string_view test);

// For the test wrapper: if LAB_TRACE is set, BeginRun with it (a bad value
// prints why and exits with code 2). EndTestRun: if recording, EndRun, and
// print where the trace went (or why it could not be written).
void BeginTestRun(const RunInfo& info);
void EndTestRun(bool passed);

// A record of every failure goes into the trace as it happens. Also for a
// failure that ends the process at once: then it writes the file too (best
// effort: skipped if the recorder is busy in another thread).
void RecordFatal(std::string_view text);

}  // namespace lab::trace

#endif  // LABRPC_RUNTIME_TRACE_H_
