// linearizability/checker.cc
//
// The model-independent half of Check(): validation, the worker threads that
// search the partitions, and turning search outcomes into described results.

#include "linearizability/checker.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "linearizability/search.h"
#include "linearizability/verdict.h"

namespace linearizability::internal {
namespace {

PartitionResult RunPartition(const std::vector<SearchInterval>& times, const PartitionPlan& plan,
                             const PartitionModelFactory& factory, absl::Time deadline,
                             const CheckOptions& options) {
  const absl::Time start = absl::Now();
  std::unique_ptr<PartitionModel> model = factory(plan.searched);
  std::vector<SearchInterval> intervals;
  intervals.reserve(plan.searched.size());
  for (size_t i : plan.searched) intervals.push_back(times[i]);
  const SearchOutcome out = Search(
      intervals, *model, {.deadline = deadline, .max_configurations = options.max_configurations});

  PartitionResult result;
  result.verdict = out.verdict;
  result.ops = plan.ops;
  result.timed_out = out.timed_out;
  result.steps = out.steps;
  result.configurations = out.configurations;
  if (out.verdict != Verdict::kOk || options.explain_ok) {
    result.initial_state = model->DescribeState(0);
    result.linearization.reserve(out.longest.size());
    for (const SearchStep& step : out.longest) {
      result.linearization.push_back(
          {plan.searched[step.op], model->DescribeState(step.state_after)});
    }
    if (out.stuck_on >= 0) result.stuck_on = plan.searched[out.stuck_on];
    const int32_t stuck_state = out.longest.empty() ? 0 : out.longest.back().state_after;
    if (out.doomed >= 0) {
      result.doomed = plan.searched[out.doomed];
      result.doomed_note = model->ExplainIllegal(stuck_state, out.doomed);
    }
    for (const SearchStep& c : out.candidates) {
      Candidate candidate;
      candidate.op = plan.searched[c.op];
      candidate.applies = c.state_after != kIllegalStep;
      candidate.note = candidate.applies ? model->DescribeState(c.state_after)
                                         : model->ExplainIllegal(stuck_state, c.op);
      result.candidates.push_back(std::move(candidate));
    }
  }
  result.elapsed = absl::Now() - start;
  return result;
}

}  // namespace

absl::Status ValidateHistory(const std::vector<SearchInterval>& times,
                             const std::vector<std::vector<size_t>>& partitions) {
  for (size_t i = 0; i < times.size(); ++i) {
    const SearchInterval& t = times[i];
    if (t.call == absl::InfinitePast() || t.call == absl::InfiniteFuture()) {
      return absl::InvalidArgumentError(absl::StrCat("operation #", i, " has no call time"));
    }
    if (t.ret < t.call) {
      return absl::InvalidArgumentError(
          absl::StrCat("operation #", i, " returns (", absl::FormatTime(t.ret),
                       ") before it is called (", absl::FormatTime(t.call), ")"));
    }
  }
  for (size_t p = 0; p < partitions.size(); ++p) {
    for (size_t i : partitions[p]) {
      if (i >= times.size()) {
        return absl::InvalidArgumentError(absl::StrCat("partition ", p, " names operation #", i,
                                                       " of a history of ", times.size()));
      }
    }
  }
  return absl::OkStatus();
}

CheckResult CheckPlans(const std::vector<SearchInterval>& times,
                       const std::vector<PartitionPlan>& plans,
                       const PartitionModelFactory& factory, const CheckOptions& options) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + options.budget;
  CheckResult result;
  result.partitions.resize(plans.size());

  // Largest first, so that one big partition does not start last.
  std::vector<size_t> order(plans.size());
  for (size_t p = 0; p < order.size(); ++p) order[p] = p;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return plans[a].searched.size() > plans[b].searched.size();
  });
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k = next++; k < order.size(); k = next++) {
      result.partitions[order[k]] =
          RunPartition(times, plans[order[k]], factory, deadline, options);
    }
  };
  size_t workers = options.workers > 0 ? static_cast<size_t>(options.workers)
                                       : std::max<size_t>(1, std::thread::hardware_concurrency());
  workers = std::min(workers, plans.size());
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();

  bool illegal = false;
  bool unknown = false;
  for (const PartitionResult& p : result.partitions) {
    illegal |= p.verdict == Verdict::kIllegal;
    unknown |= p.verdict == Verdict::kUnknown;
  }
  result.verdict = illegal ? Verdict::kIllegal : unknown ? Verdict::kUnknown : Verdict::kOk;
  result.elapsed = absl::Now() - start;
  return result;
}

}  // namespace linearizability::internal
