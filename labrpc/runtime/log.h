// labrpc/runtime/log.h
//
// Logging for lab code, by topic, off by default:
//
//   #include "labrpc/runtime/log.h"
//
//   LAB_LOG(VOTE, "granted my vote to %d in term %d", args.candidate_id, args.term);
//   LAB_LOG(LEAD, "won the election of term %d with %d votes", term, votes);
//
// The topic is a word (VOTE, LEAD, LOG, COMMIT, PERSIST, SNAP, TIMER, APPLY,
// or any of your own); the rest is an absl::StrFormat format and its
// arguments (checked at compile time, like printf's). Each line says when
// (runtime time: virtual in sim), who (the peer: the task group the calling
// task belongs to, such as "raft-2"; you never pass `me`), which task, and
// the topic:
//
//      2.417 raft-2   VOTE    RequestVote      granted my vote to 0 in term 3
//
// LAB_LOG=VOTE,LEAD prints those topics on stderr, LAB_LOG=all every topic,
// LAB_LOG=all,-TIMER all but TIMER (topics are case-insensitive). Unset (or
// empty) prints nothing, and a call then costs a couple of loads and a branch:
// its arguments are not even formatted (see log_benchmark).
//
// While a trace is recorded (LAB_TRACE=FILE, trace.h), every LAB_LOG line of
// every topic goes into the trace as a `log` record, whatever LAB_LOG says:
// the viewers filter by topic, and a replay should not be needed to see a
// topic you did not think of.
//
// A log call never changes a sim schedule (it makes no runtime call that
// switches tasks), so a run replays the same with logging on or off -- as
// long as its arguments make none either: they are evaluated only when the
// line is printed or traced, so an argument that locks a lab::Mutex (say,
// persister->RaftStateSize()) adds a scheduling point only then, and the
// seed no longer replays the same run. Log values you already have.
//
// Thread safety: LAB_LOG may be called from any task (or outside a world:
// then time is 0 and the peer is "-").

#ifndef LABRPC_RUNTIME_LOG_H_
#define LABRPC_RUNTIME_LOG_H_

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"

#define LAB_LOG(topic, ...)                                                    \
  do {                                                                         \
    static ::lab::log_internal::Topic lab_log_topic_(#topic);                  \
    if (ABSL_PREDICT_FALSE(lab_log_topic_.enabled())) {                        \
      lab_log_topic_.Write(::absl::StrFormat(__VA_ARGS__));                    \
    }                                                                          \
  } while (0)

namespace lab {

// Which topics LAB_LOG prints.
struct LogTopics {
  bool all = false;
  std::set<std::string> on;   // upper case
  std::set<std::string> off;  // with all: the exceptions ("-TIMER")
  bool Prints(std::string_view topic) const;
};

// Parses a LAB_LOG value: comma-separated words, "all", "-WORD" to leave one
// out. An error says what was wrong and how to write it.
absl::StatusOr<LogTopics> ParseLogTopics(std::string_view value);

// Sets the printed topics, as LAB_LOG would (for tests and tools). Returns
// the parse error, changing nothing, for a bad value.
absl::Status SetLogTopics(std::string_view value);

// Checks the LAB_LOG environment variable (WorldOptions::FromEnv does).
absl::Status CheckLogEnv();

namespace log_internal {

// The global configuration's generation; every topic caches its state for
// one generation.
extern std::atomic<uint32_t> g_generation;

// A call site's topic. Its state packs the generation it was computed for
// (high bits) with whether to print (bit 0) and to record (bit 1).
class Topic {
 public:
  explicit Topic(std::string_view name);
  bool enabled() {
    const uint32_t s = state_.load(std::memory_order_relaxed);
    if (ABSL_PREDICT_TRUE((s >> 2) == g_generation.load(std::memory_order_relaxed))) {
      return (s & 3) != 0;
    }
    return Refresh();
  }
  void Write(std::string_view text);
  const std::string& name() const { return name_; }

 private:
  bool Refresh();
  const std::string name_;  // upper case, quotes of a string literal removed
  std::atomic<uint32_t> state_{0};
};

// Called when the configuration changes (topics set, a trace begins or
// ends): every topic recomputes its state at its next call.
void Reconfigure();

// One stderr line (with its newline), as LAB_LOG prints it.
std::string FormatLine(int64_t micros, std::string_view peer, std::string_view task,
                       std::string_view topic, std::string_view text);

}  // namespace log_internal
}  // namespace lab

#endif  // LABRPC_RUNTIME_LOG_H_
