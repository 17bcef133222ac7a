// linearizability/visualization.h
//
// Renders a check's result as one self-contained HTML page (inline CSS and
// a few lines of JavaScript, nothing fetched), for a student to see why a
// history is not linearizable. Per partition (illegal ones first, then
// unknown, then ok): the operations on a timeline, one row per client, a bar
// from call to return; the faults the test injected as vertical lines; and,
// unless the partition is ok, the longest partial linearization the search
// found (in order, with the state after each operation) and the operations
// none of which could come next, each with the reason.
//
//   VisualizationInput vis{.title = "TestSpeed3A",
//                          .operations = DescribeOperations(model, history),
//                          .partition_names = names, .result = &*result, .events = faults};
//   absl::Status s = WriteHtml("/tmp/TestSpeed3A.html", vis);
//
// The timeline's horizontal axis is the order of events, not their real
// spacing: every distinct call, return and fault time gets a column, so
// overlaps are readable however long the test ran. Times are shown relative
// to the first call. All text is HTML-escaped.

#ifndef LINEARIZABILITY_VISUALIZATION_H_
#define LINEARIZABILITY_VISUALIZATION_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "linearizability/checker.h"
#include "linearizability/model.h"

namespace linearizability {

// A fault the test injected (partition, crash, restart...), drawn on every
// partition's timeline.
struct FaultEvent {
  absl::Time time{};
  std::string description{};
};

struct VisualOperation {
  int client = 0;
  absl::Time call{};
  absl::Time ret = absl::InfiniteFuture();  // never returned
  std::string label{};                      // e.g. Append("x 1 0 y")
};

struct VisualizationInput {
  std::string title{};
  std::vector<VisualOperation> operations{};   // indexed like the history
  std::vector<std::string> partition_names{};  // like result->partitions; "partition N" if missing
  const CheckResult* result = nullptr;         // required
  std::vector<FaultEvent> events{};
};

// The operations of a history, labelled by the model.
template <Model M>
std::vector<VisualOperation> DescribeOperations(const M& model, const HistoryOf<M>& history) {
  std::vector<VisualOperation> ops;
  ops.reserve(history.size());
  for (const auto& op : history) {
    ops.push_back({op.client, op.call, op.ret, model.DescribeOperation(op.input, op.output)});
  }
  return ops;
}

std::string RenderHtml(const VisualizationInput& input);

// Renders and writes the page to `path`, replacing any file there.
absl::Status WriteHtml(const std::string& path, const VisualizationInput& input);

// & < > " ' as character references.
std::string HtmlEscape(std::string_view text);

}  // namespace linearizability

#endif  // LINEARIZABILITY_VISUALIZATION_H_
