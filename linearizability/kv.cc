// linearizability/kv.cc

#include "linearizability/kv.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "linearizability/checker.h"
#include "linearizability/kv_model.h"
#include "linearizability/model.h"
#include "linearizability/verdict.h"
#include "linearizability/visualization.h"

namespace linearizability {
namespace {

constexpr size_t kMaxKeyShown = 60;
constexpr size_t kMaxNoteShown = 300;

std::string QuoteKey(const std::string& key) { return QuoteAbbreviated(key, kMaxKeyShown); }

std::string Abbreviate(std::string text, size_t max) {
  if (text.size() > max) text = text.substr(0, max) + "...";
  return text;
}

// Times in summaries are relative to this.
absl::Time FirstCall(const std::vector<KvOperation>& history) {
  absl::Time first = absl::InfiniteFuture();
  for (const KvOperation& op : history) first = std::min(first, op.call);
  return first;
}

HistoryOf<KvModel> ToModelHistory(const std::vector<KvOperation>& history) {
  HistoryOf<KvModel> ops;
  ops.reserve(history.size());
  for (const KvOperation& op : history) {
    Operation<KvInput, KvOutput> o{
        .client = op.client, .input = {.op = op.op, .key = op.key}, .call = op.call, .ret = op.ret};
    if (op.op == KvOp::kGet) {
      o.output.known = op.ret != absl::InfiniteFuture();
      if (o.output.known) o.output.value = op.output;
    } else {
      o.input.value = MakeKvText(op.value);
    }
    ops.push_back(o);
  }
  return ops;
}

// "illegal: key ..." and where it is stuck, for the first illegal key.
std::string IllegalSummary(const std::vector<KvOperation>& history, const HistoryOf<KvModel>& ops,
                           const CheckResult& checked,
                           const std::vector<std::string>& illegal_keys) {
  const KvModel model;
  const PartitionResult* bad = nullptr;
  for (const PartitionResult& p : checked.partitions) {
    if (p.verdict == Verdict::kIllegal) {
      bad = &p;
      break;
    }
  }
  std::string summary = absl::StrCat(
      "illegal: key ", QuoteKey(history[bad->ops[0]].key), " is not linearizable (",
      bad->ops.size(), " operations; the longest linearizable prefix has ",
      bad->linearization.size(), ")");
  if (illegal_keys.size() > 1) {
    std::vector<std::string> others;
    for (size_t k = 1; k < illegal_keys.size() && k <= 5; ++k)
      others.push_back(QuoteKey(illegal_keys[k]));
    absl::StrAppend(&summary, "; also illegal: ", absl::StrJoin(others, ", "),
                    illegal_keys.size() > 6 ? ", ..." : "");
  }
  const absl::Time origin = FirstCall(history);
  if (bad->doomed.has_value()) {
    const size_t d = *bad->doomed;
    absl::StrAppend(&summary, "\nstuck: client ", history[d].client, "'s ",
                    model.DescribeOperation(ops[d].input, ops[d].output), " (called at ",
                    absl::FormatDuration(history[d].call - origin),
                    ") can never be linearized: ", Abbreviate(bad->doomed_note, kMaxNoteShown));
  } else if (bad->stuck_on.has_value()) {
    const size_t first = *bad->stuck_on;
    absl::StrAppend(&summary, "\nstuck at client ", history[first].client, "'s ",
                    model.DescribeOperation(ops[first].input, ops[first].output),
                    ", which returned at ", absl::FormatDuration(history[first].ret - origin));
    // Explain the stuck operation itself if it is impossible, else the first
    // impossible candidate.
    auto impossible = std::find_if(bad->candidates.begin(), bad->candidates.end(),
                                   [&](const Candidate& c) { return !c.applies && c.op == first; });
    if (impossible == bad->candidates.end()) {
      impossible = std::find_if(bad->candidates.begin(), bad->candidates.end(),
                                [](const Candidate& c) { return !c.applies; });
    }
    if (impossible != bad->candidates.end()) {
      const size_t i = impossible->op;
      absl::StrAppend(&summary, ": ",
                      i == first ? "it" : model.DescribeOperation(ops[i].input, ops[i].output),
                      " cannot come next: ", Abbreviate(impossible->note, kMaxNoteShown));
    }
  }
  return summary;
}

std::string UnknownSummary(const std::vector<KvOperation>& history, const CheckResult& checked,
                           const KvCheckOptions& options) {
  size_t unsettled = 0;
  bool timed_out = false;
  const PartitionResult* largest = nullptr;
  for (const PartitionResult& p : checked.partitions) {
    if (p.verdict != Verdict::kUnknown) continue;
    ++unsettled;
    timed_out |= p.timed_out;
    if (largest == nullptr || p.ops.size() > largest->ops.size()) largest = &p;
  }
  return absl::StrCat("unknown: ", timed_out ? "timed out after " : "out of memory after ",
                      absl::FormatDuration(checked.elapsed), " (budget ",
                      absl::FormatDuration(options.budget), "); ", unsettled, " of ",
                      checked.partitions.size(),
                      " keys unsettled (largest: ", QuoteKey(history[largest->ops[0]].key), ", ",
                      largest->ops.size(), " operations); the other keys are linearizable");
}

}  // namespace

KvCheckResult CheckKvHistory(const std::vector<KvOperation>& history,
                             const KvCheckOptions& options) {
  const HistoryOf<KvModel> ops = ToModelHistory(history);
  const KvModel model;
  absl::StatusOr<CheckResult> checked =
      Check(model, ops, CheckOptions{.budget = options.budget, .workers = options.workers});
  KvCheckResult result;
  if (!checked.ok()) {
    result.verdict = Verdict::kUnknown;
    result.summary =
        absl::StrCat("invalid history, not checked: ", std::string(checked.status().message()));
    return result;
  }
  result.verdict = checked->verdict;
  for (const PartitionResult& p : checked->partitions) {
    if (p.verdict == Verdict::kIllegal) result.illegal_keys.push_back(history[p.ops[0]].key);
  }
  switch (checked->verdict) {
    case Verdict::kOk:
      result.summary = absl::StrCat(
          "ok: ", history.size(), " operations on ", checked->partitions.size(),
          " keys are linearizable (checked in ", absl::FormatDuration(checked->elapsed), ")");
      break;
    case Verdict::kUnknown:
      result.summary = UnknownSummary(history, *checked, options);
      break;
    case Verdict::kIllegal:
      result.summary = IllegalSummary(history, ops, *checked, result.illegal_keys);
      break;
  }

  if (checked->verdict == Verdict::kIllegal && !options.visualization_path.empty()) {
    VisualizationInput vis{
        .title = options.title.empty() ? "KV linearizability check" : options.title,
        .operations = DescribeOperations(model, ops),
        .result = &*checked,
        .events = options.events};
    for (const PartitionResult& p : checked->partitions) {
      vis.partition_names.push_back(absl::StrCat("key ", QuoteKey(history[p.ops[0]].key)));
    }
    if (absl::Status s = WriteHtml(options.visualization_path, vis); s.ok()) {
      result.visualization_path = options.visualization_path;
    } else {
      absl::StrAppend(&result.summary, "\nvisualization not written: ", std::string(s.message()));
    }
  }
  return result;
}

}  // namespace linearizability
