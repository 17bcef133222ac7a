// linearizability/checker.h
//
// Checks a history against a model (see model.h) for linearizability: the
// Porcupine algorithm. The history is split into partitions if the model can
// (P-compositionality), each partition is searched on its own (in parallel),
// and the search memoizes the configurations it has explored. The whole check
// gets one wall-clock budget; a partition still unsettled when it runs out is
// kUnknown.
//
//   absl::StatusOr<CheckResult> result =
//       Check(RegisterModel(), history, {.budget = absl::Seconds(1)});
//   if (!result.ok()) ...  // a malformed history (ret < call, ...)
//   if (result->verdict == Verdict::kIllegal) {
//     for (const PartitionResult& p : result->partitions) ...  // p.linearization, p.candidates
//   }
//
// The verdict is kIllegal if some partition is illegal, else kUnknown if some
// partition ran out of budget, else kOk. Every partition runs to its end or to
// the deadline, so all the illegal partitions are reported, not only the
// first. The search reads the wall clock for its budget and nothing else: the
// verdict depends on the history only, except where the budget runs out.
//
// Thread safety: Check() may be called from any thread. It calls the model's
// const members and copy constructor from several threads at once, and the
// other members on one copy per partition.

#ifndef LINEARIZABILITY_CHECKER_H_
#define LINEARIZABILITY_CHECKER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "linearizability/model.h"
#include "linearizability/search.h"
#include "linearizability/verdict.h"

namespace linearizability {

struct CheckOptions {
  // Wall-clock time for the whole check, all partitions together.
  absl::Duration budget = absl::Seconds(1);
  // Threads that search partitions in parallel; 0 means one per core.
  int workers = 0;
  // Per partition: give up (kUnknown) after memoizing this many
  // configurations, about 60 bytes each.
  int64_t max_configurations = int64_t{1} << 23;
  // Describe the linearization of kOk partitions too (it is always described
  // for the others). Costs a DescribeState per operation.
  bool explain_ok = false;
};

// An operation of a (partial) linearization and the state after it.
struct LinearizedOp {
  size_t op = 0;  // index into the history
  std::string state_after{};
};

// An operation that could have been linearized where the search got stuck.
struct Candidate {
  size_t op = 0;         // index into the history
  bool applies = false;  // legal in that state (but every way on failed)
  // applies: the state it leads to; otherwise why it is impossible there.
  std::string note{};
};

struct PartitionResult {
  Verdict verdict = Verdict::kOk;
  std::vector<size_t> ops{};  // indices into the history, as the model listed them

  // Described when the verdict is not kOk (and for kOk with explain_ok).
  std::string initial_state{};
  // kOk: a whole linearization. Otherwise the longest partial linearization
  // found; the search got stuck after it (kIllegal), or had not got further
  // when it gave up (kUnknown).
  std::vector<LinearizedOp> linearization{};
  // Where it got stuck (kIllegal; for kUnknown if it had met a dead end at
  // that depth): the operation that returned first among those left, which
  // had to be linearized before anything called after that return, and all
  // the operations that could have come next.
  std::optional<size_t> stuck_on{};
  std::vector<Candidate> candidates{};
  // A read that can never be linearized after `linearization`: only
  // operations called before it returned could precede it, and none leads to
  // a state where it is possible (see the lookahead in model.h). It may not
  // have been called yet at the stuck point. `doomed_note`: why it is
  // impossible in the state after `linearization`.
  std::optional<size_t> doomed{};
  std::string doomed_note{};

  bool timed_out = false;  // kUnknown: out of time (else out of memory)
  int64_t steps = 0;
  int64_t configurations = 0;
  absl::Duration elapsed{};
};

struct CheckResult {
  Verdict verdict = Verdict::kOk;
  std::vector<PartitionResult> partitions{};  // in the model's partition order
  absl::Duration elapsed{};
};

namespace internal {

// A partition's model as the search and the report see it.
class PartitionModel : public StepOracle {
 public:
  virtual std::string DescribeState(int32_t state) = 0;
  // `op` indexes the partition's searched operations.
  virtual std::string ExplainIllegal(int32_t state, int32_t op) = 0;
};

struct PartitionPlan {
  std::vector<size_t> ops;       // every operation of the partition
  std::vector<size_t> searched;  // those the search needs (no no-ops)
};

// Makes the model for a partition from its searched operations. Called from
// several threads at once.
using PartitionModelFactory =
    std::function<std::unique_ptr<PartitionModel>(const std::vector<size_t>& searched)>;

// Checks that every operation was called at a finite time and returned no
// earlier, and that the partitions name operations that exist.
absl::Status ValidateHistory(const std::vector<SearchInterval>& times,
                             const std::vector<std::vector<size_t>>& partitions);

// The non-template part of Check(): runs the partitions on worker threads.
CheckResult CheckPlans(const std::vector<SearchInterval>& times,
                       const std::vector<PartitionPlan>& plans,
                       const PartitionModelFactory& factory, const CheckOptions& options);

// Adapts a model to PartitionModel: numbers distinct states in the order
// they are met (the initial state is 0) and keeps each once.
template <Model M>
class ModelAdapter final : public PartitionModel {
 public:
  ModelAdapter(const M& model, const HistoryOf<M>& history, const std::vector<size_t>& searched)
      : model_(model), history_(history), searched_(searched), index_(0, IdHash{this}, IdEq{this}) {
    Intern(model_.Init());
  }
  ModelAdapter(const ModelAdapter&) = delete;
  ModelAdapter& operator=(const ModelAdapter&) = delete;

  int32_t Step(int32_t state, int32_t op) override {
    const auto& o = history_[searched_[op]];
    std::optional<typename M::State> next = model_.Step(states_[state], o.input, o.output);
    if (!next.has_value()) return kIllegalStep;
    return Intern(std::move(*next));
  }

  bool IsReadOnly(int32_t op) override {
    if constexpr (ModelWithReads<M>) {
      return model_.IsReadOnly(history_[searched_[op]].input);
    } else {
      return false;
    }
  }

  bool HasLookahead() override { return ModelWithLookahead<M>; }

  bool MayBecomeLegal(int32_t state, int32_t op) override {
    if constexpr (ModelWithLookahead<M>) {
      const auto& o = history_[searched_[op]];
      return model_.MayBecomeLegal(states_[state], o.input, o.output);
    } else {
      return true;
    }
  }

  bool IsReset(int32_t op) override {
    if constexpr (ModelWithLookahead<M>) {
      return model_.IsReset(history_[searched_[op]].input);
    } else {
      return false;
    }
  }

  std::string DescribeState(int32_t state) override { return model_.DescribeState(states_[state]); }

  std::string ExplainIllegal(int32_t state, int32_t op) override {
    const auto& o = history_[searched_[op]];
    if constexpr (ExplainingModel<M>) {
      return model_.ExplainIllegal(states_[state], o.input, o.output);
    } else {
      return "impossible in state " + model_.DescribeState(states_[state]);
    }
  }

 private:
  struct IdHash {
    const ModelAdapter* adapter;
    size_t operator()(int32_t id) const { return adapter->hashes_[id]; }
  };
  struct IdEq {
    const ModelAdapter* adapter;
    bool operator()(int32_t a, int32_t b) const {
      return a == b || adapter->model_.EqualStates(adapter->states_[a], adapter->states_[b]);
    }
  };

  int32_t Intern(typename M::State state) {
    states_.push_back(std::move(state));
    // Mixed, so that a model may return weak hashes (small integers).
    hashes_.push_back(absl::HashOf(static_cast<size_t>(model_.HashState(states_.back()))));
    const auto id = static_cast<int32_t>(states_.size() - 1);
    auto [it, inserted] = index_.insert(id);
    if (!inserted) {
      states_.pop_back();
      hashes_.pop_back();
    }
    return *it;
  }

  M model_;
  const HistoryOf<M>& history_;
  const std::vector<size_t>& searched_;
  std::vector<typename M::State> states_;  // by number
  std::vector<size_t> hashes_;             // by number
  absl::flat_hash_set<int32_t, IdHash, IdEq> index_;
};

}  // namespace internal

template <Model M>
absl::StatusOr<CheckResult> Check(const M& model, const HistoryOf<M>& history,
                                  const CheckOptions& options = {}) {
  std::vector<std::vector<size_t>> partitions;
  if constexpr (PartitionedModel<M>) {
    partitions = model.Partition(history);
  } else {
    partitions.emplace_back(history.size());
    std::iota(partitions.back().begin(), partitions.back().end(), size_t{0});
  }
  std::vector<SearchInterval> times;
  times.reserve(history.size());
  for (const auto& op : history) times.push_back({op.call, op.ret});
  if (absl::Status s = internal::ValidateHistory(times, partitions); !s.ok()) return s;

  std::vector<internal::PartitionPlan> plans(partitions.size());
  for (size_t p = 0; p < partitions.size(); ++p) {
    for (size_t i : partitions[p]) {
      bool no_op = false;
      if constexpr (ModelWithNoOps<M>) no_op = model.IsNoOp(history[i].input, history[i].output);
      if (!no_op) plans[p].searched.push_back(i);
    }
    plans[p].ops = std::move(partitions[p]);
  }
  return internal::CheckPlans(
      times, plans,
      [&model,
       &history](const std::vector<size_t>& searched) -> std::unique_ptr<internal::PartitionModel> {
        return std::make_unique<internal::ModelAdapter<M>>(model, history, searched);
      },
      options);
}

}  // namespace linearizability

#endif  // LINEARIZABILITY_CHECKER_H_
