// linearizability/verdict.h
//
// The outcome of a linearizability check: the history is linearizable (kOk),
// it is not (kIllegal), or the search ran out of time before it could tell
// (kUnknown). A test should fail on kIllegal and may only warn on kUnknown.

#ifndef LINEARIZABILITY_VERDICT_H_
#define LINEARIZABILITY_VERDICT_H_

#include <string_view>

namespace linearizability {

enum class Verdict { kOk, kIllegal, kUnknown };

// "ok", "illegal" or "unknown".
std::string_view VerdictName(Verdict verdict);

}  // namespace linearizability

#endif  // LINEARIZABILITY_VERDICT_H_
