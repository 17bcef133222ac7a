// linearizability/search.h
//
// The search at the heart of the checker, for one partition of a history:
// Wing & Gong's depth-first search for a linearization, with Lowe's
// improvements (an entry list of call and return events that operations are
// lifted out of as they are linearized, and memoization of the configurations
// already explored), as in Porcupine. Two more prunings, both exact, for
// models that ask for them (see StepOracle): a read that is legal is
// linearized at once instead of in every order, and an order is abandoned as
// soon as some read can no longer be satisfied. The search knows nothing
// about models: states are small integers (0 is the initial state) and a
// StepOracle says where each operation leads. checker.h wraps it for a model;
// use that instead.
//
//   std::vector<SearchInterval> ops = {{call0, ret0}, {call1, ret1}};
//   SearchOutcome out = Search(ops, oracle, {.deadline = absl::Now() + budget});
//   if (out.verdict == Verdict::kIllegal) { ... out.longest, out.candidates ... }
//
// Two operations are concurrent when their intervals overlap, ends included: an
// operation that returns at the instant another is called may be linearized
// after it. An operation that never returned has ret = absl::InfiniteFuture().

#ifndef LINEARIZABILITY_SEARCH_H_
#define LINEARIZABILITY_SEARCH_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "linearizability/verdict.h"

namespace linearizability {

// What StepOracle::Step returns when an operation cannot happen in a state.
inline constexpr int32_t kIllegalStep = -1;

// The model as the search sees it.
class StepOracle {
 public:
  virtual ~StepOracle() = default;
  // The state that applying operation `op` (an index into the search's
  // operations) in state `state` leads to, or kIllegalStep if the operation's
  // recorded output is impossible in that state. Equal states must get equal
  // numbers: the memoization compares states by number. The search asks at
  // most once per (state, op) pair.
  virtual int32_t Step(int32_t state, int32_t op) = 0;
  // Whether `op` never changes the state where it is legal (a read). The
  // search then linearizes it as soon as it is legal, without trying other
  // orders: that loses no linearization, since every operation that must
  // precede it already has, and moving it earlier changes no state.
  virtual bool IsReadOnly(int32_t /*op*/) { return false; }
  // Lookahead, optional: whether the two functions below mean anything.
  virtual bool HasLookahead() { return false; }
  // Whether the read `op` could be legal in `state` or
  // after more operations that are not resets: true wherever the read is
  // legal, and if false for a state, false for every state a non-reset
  // operation leads to from it. When a read is impossible both from the
  // current state and from the state after each reset that could still
  // precede it, the search abandons the current state at once rather than
  // when the read's return forces it.
  virtual bool MayBecomeLegal(int32_t /*state*/, int32_t /*op*/) { return true; }
  // Whether `op` is a reset: a blind write, which leads to the same state
  // wherever it is applied (a Put, unlike an Append).
  virtual bool IsReset(int32_t /*op*/) { return false; }
};

struct SearchInterval {
  absl::Time call;
  absl::Time ret = absl::InfiniteFuture();  // InfiniteFuture(): never returned
};

struct SearchLimits {
  // The search gives up (kUnknown) at this instant of the wall clock.
  absl::Time deadline = absl::InfiniteFuture();
  // ... or when it has memoized this many configurations (a memory bound;
  // each takes about 60 bytes).
  int64_t max_configurations = int64_t{1} << 23;
};

// One operation of a (partial) linearization, with the state after it.
struct SearchStep {
  int32_t op = 0;
  int32_t state_after = 0;
};

struct SearchOutcome {
  Verdict verdict = Verdict::kOk;
  // kOk: a linearization of every operation. Otherwise the longest sequence
  // the search found that linearizes a prefix of the history (every
  // operation that returned before the next one's return is in it).
  std::vector<SearchStep> longest;
  // Where `longest` got stuck (kIllegal; for kUnknown when known): the
  // operation whose return came first among those left (it has to be
  // linearized before anything called after it returned), and every
  // operation that could have come next, with the state it leads to
  // (kIllegalStep if it is impossible there; otherwise every way on from
  // that state failed). stuck_on is -1 when there is no such point.
  int32_t stuck_on = -1;
  std::vector<SearchStep> candidates;
  // A read the lookahead found can never be linearized after `longest`
  // (see StepOracle::MayBecomeLegal), or -1. It may not have been called yet.
  int32_t doomed = -1;
  // Why the verdict is kUnknown: true if out of time, false if out of memory.
  bool timed_out = false;
  int64_t steps = 0;           // loop iterations
  int64_t configurations = 0;  // memoized (linearized set, state) pairs
};

// Precondition: call is finite and call <= ret for every interval.
SearchOutcome Search(const std::vector<SearchInterval>& ops, StepOracle& oracle,
                     const SearchLimits& limits);

}  // namespace linearizability

#endif  // LINEARIZABILITY_SEARCH_H_
