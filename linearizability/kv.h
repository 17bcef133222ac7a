// linearizability/kv.h
//
// Checks a history of the Lab 3 key/value service's clerk calls for
// linearizability (Porcupine's algorithm, see checker.h), and on failure
// writes an HTML page that shows why (see visualization.h). The KV tester
// records every Get/Put/Append a clerk makes, with when it started and
// returned, and calls this at the end of a test:
//
//   std::vector<KvOperation> history = ...;  // one per clerk call
//   KvCheckResult r = CheckKvHistory(history, {.budget = absl::Seconds(1),
//                                              .visualization_path = "/tmp/TestSpeed3A.html",
//                                              .title = "TestSpeed3A", .events = faults});
//   if (r.verdict == Verdict::kIllegal) FAIL() << r.summary;   // r.visualization_path: the page
//   if (r.verdict == Verdict::kUnknown) std::cout << "info: " << r.summary << "\n";  // assume ok
//
// The model: one string register per key (keys are checked separately); Get
// returns the current value ("" if never written), Put replaces it, Append
// appends to it. A call that never returned (ret = InfiniteFuture()) may take
// effect at any time after its call or not at all: a pending Put/Append may or
// may not be seen, and a pending Get's output is ignored. Two calls whose
// intervals touch (one returns at the instant the other starts) count as
// concurrent.
//
// The history's strings are only read during the call. Long values are fine:
// states share their common prefixes, so an append-heavy history costs
// memory in proportion to the history, not to the sum of its values.

#ifndef LINEARIZABILITY_KV_H_
#define LINEARIZABILITY_KV_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "linearizability/kv_model.h"
#include "linearizability/verdict.h"
#include "linearizability/visualization.h"

namespace linearizability {

struct KvOperation {
  int client = 0;  // which clerk
  KvOp op = KvOp::kGet;
  std::string key{};
  std::string value{};   // Put/Append argument
  std::string output{};  // what Get returned (ignored for Put/Append, and if it never returned)
  absl::Time call{};     // when the clerk call started
  // When it returned; InfiniteFuture() = never returned (pending).
  absl::Time ret = absl::InfiniteFuture();
};

struct KvCheckOptions {
  absl::Duration budget = absl::Seconds(1);  // wall-clock time for the whole search
  std::string visualization_path{};  // if non-empty and the verdict is illegal, write HTML here
  std::string title{};               // e.g. the test name, shown in the HTML
  std::vector<FaultEvent> events{};  // drawn on the timelines
  int workers = 0;                   // threads searching keys in parallel; 0 = one per core
};

struct KvCheckResult {
  Verdict verdict = Verdict::kOk;
  // One or two lines: which key failed and where, how many operations, or
  // why the verdict is unknown ("invalid history: ..." if an operation
  // returns before its call or has no call time: a tester bug).
  std::string summary{};
  // The file written (empty if none); a failure to write is in the summary.
  std::string visualization_path{};
  std::vector<std::string> illegal_keys{};  // in key order
};

KvCheckResult CheckKvHistory(const std::vector<KvOperation>& history,
                             const KvCheckOptions& options);

}  // namespace linearizability

#endif  // LINEARIZABILITY_KV_H_
