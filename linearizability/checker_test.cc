// linearizability/checker_test.cc
//
// Tests of the generic checker with trivial models (an integer register, a
// keyed register, a counter): verdicts on hand-built histories, what the
// result reports, partitioning, no-ops, limits, malformed histories, and a
// cross-check against brute force over every order of small random histories.

#include "linearizability/checker.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "linearizability/model.h"
#include "linearizability/verdict.h"

namespace linearizability {
namespace {

constexpr int kNever = -1;

absl::Time T(int ms) {
  return ms == kNever ? absl::InfiniteFuture() : absl::UnixEpoch() + absl::Milliseconds(ms);
}

// An integer register, initially 0.
struct RegisterModel {
  struct Input {
    bool write = false;
    int value = 0;
  };
  using Output = int;  // what a read returned
  using State = int;

  State Init() const { return 0; }
  std::optional<State> Step(State s, const Input& in, Output out) {
    if (in.write) return in.value;
    if (out != s) return std::nullopt;
    return s;
  }
  size_t HashState(State s) const { return static_cast<size_t>(s); }
  bool EqualStates(State a, State b) const { return a == b; }
  std::string DescribeOperation(const Input& in, Output out) const {
    return in.write ? absl::StrCat("write(", in.value, ")") : absl::StrCat("read() -> ", out);
  }
  std::string DescribeState(State s) const { return absl::StrCat(s); }
};
static_assert(Model<RegisterModel>);
static_assert(!PartitionedModel<RegisterModel>);

using RegisterOp = Operation<RegisterModel::Input, RegisterModel::Output>;

RegisterOp Write(int client, int value, int call, int ret) {
  return {.client = client,
          .input = {.write = true, .value = value},
          .output = 0,
          .call = T(call),
          .ret = T(ret)};
}
RegisterOp Read(int client, int output, int call, int ret) {
  return {.client = client,
          .input = {.write = false, .value = 0},
          .output = output,
          .call = T(call),
          .ret = T(ret)};
}

// Registers by key; a read that never returned is a no-op.
struct KeyedRegisterModel : RegisterModel {
  struct Input {
    int key = 0;
    bool write = false;
    int value = 0;
  };
  std::optional<State> Step(State s, const Input& in, Output out) {
    return RegisterModel::Step(s, {in.write, in.value}, out);
  }
  std::string DescribeOperation(const Input& in, Output out) const {
    return absl::StrCat("[", in.key, "] ",
                        RegisterModel::DescribeOperation({in.write, in.value}, out));
  }
  std::vector<std::vector<size_t>> Partition(const HistoryOf<KeyedRegisterModel>& history) const {
    std::vector<std::vector<size_t>> parts;
    for (size_t i = 0; i < history.size(); ++i) {
      const size_t key = static_cast<size_t>(history[i].input.key);
      if (parts.size() <= key) parts.resize(key + 1);
      parts[key].push_back(i);
    }
    return parts;
  }
  bool IsNoOp(const Input& in, Output out) const { return !in.write && out == kUnknownOutput; }
  std::string ExplainIllegal(State s, const Input&, Output out) const {
    return absl::StrCat("read ", out, " but the register holds ", s);
  }
  static constexpr int kUnknownOutput = -999;
};
static_assert(PartitionedModel<KeyedRegisterModel> && ModelWithNoOps<KeyedRegisterModel> &&
              ExplainingModel<KeyedRegisterModel>);

using KeyedOp = Operation<KeyedRegisterModel::Input, KeyedRegisterModel::Output>;

KeyedOp KeyedWrite(int key, int client, int value, int call, int ret) {
  return {.client = client,
          .input = {.key = key, .write = true, .value = value},
          .output = 0,
          .call = T(call),
          .ret = T(ret)};
}
KeyedOp KeyedRead(int key, int client, int output, int call, int ret) {
  return {.client = client,
          .input = {.key = key, .write = false, .value = 0},
          .output = output,
          .call = T(call),
          .ret = T(ret)};
}

CheckResult MustCheck(const auto& model, const auto& history, CheckOptions options = {}) {
  absl::StatusOr<CheckResult> result = Check(model, history, options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : CheckResult{};
}

TEST(Checker, EmptyHistoryIsOk) {
  const CheckResult r = MustCheck(RegisterModel(), std::vector<RegisterOp>{});
  EXPECT_EQ(r.verdict, Verdict::kOk);
}

TEST(Checker, SequentialRegister) {
  // write 1, read 1, write 2, read 2: ok; the same with a last read of 1: illegal.
  std::vector<RegisterOp> h = {Write(0, 1, 0, 10), Read(1, 1, 20, 30), Write(0, 2, 40, 50),
                               Read(1, 2, 60, 70)};
  EXPECT_EQ(MustCheck(RegisterModel(), h).verdict, Verdict::kOk);
  h[3].output = 1;
  EXPECT_EQ(MustCheck(RegisterModel(), h).verdict, Verdict::kIllegal);
}

TEST(Checker, OkResultCanListALinearizationInRealTimeOrder) {
  // Two concurrent writes; a read inside both sees 2, a later one sees 1:
  // only write 2, read 2, write 1, read 1 works.
  const std::vector<RegisterOp> h = {Write(0, 1, 0, 100), Write(1, 2, 0, 100), Read(2, 2, 10, 20),
                                     Read(2, 1, 200, 210)};
  const CheckResult r = MustCheck(RegisterModel(), h, {.explain_ok = true});
  ASSERT_EQ(r.verdict, Verdict::kOk);
  ASSERT_EQ(r.partitions.size(), 1u);
  const PartitionResult& p = r.partitions[0];
  std::vector<size_t> order;
  std::vector<std::string> states;
  for (const LinearizedOp& step : p.linearization) {
    order.push_back(step.op);
    states.push_back(step.state_after);
  }
  EXPECT_EQ(order, (std::vector<size_t>{1, 2, 0, 3}));
  EXPECT_EQ(states, (std::vector<std::string>{"2", "2", "1", "1"}));
  EXPECT_EQ(p.initial_state, "0");
  // Without explain_ok nothing is described for an ok partition.
  EXPECT_TRUE(MustCheck(RegisterModel(), h).partitions[0].linearization.empty());
}

TEST(Checker, StaleReadReportsWhereItIsStuck) {
  // write 1 completes, then a read returns the old 0.
  const std::vector<RegisterOp> h = {Write(0, 1, 0, 10), Read(1, 0, 20, 30)};
  const CheckResult r = MustCheck(RegisterModel(), h);
  ASSERT_EQ(r.verdict, Verdict::kIllegal);
  const PartitionResult& p = r.partitions[0];
  ASSERT_EQ(p.linearization.size(), 1u);
  EXPECT_EQ(p.linearization[0].op, 0u);
  EXPECT_EQ(p.linearization[0].state_after, "1");
  ASSERT_TRUE(p.stuck_on.has_value());
  EXPECT_EQ(*p.stuck_on, 1u);
  ASSERT_EQ(p.candidates.size(), 1u);
  EXPECT_EQ(p.candidates[0].op, 1u);
  EXPECT_FALSE(p.candidates[0].applies);
  EXPECT_EQ(p.candidates[0].note, "impossible in state 1");  // the default explanation
}

TEST(Checker, CandidatesThatApplyButLeadNowhereAreMarked) {
  // Concurrent write 1 and write 2, then reads 1 and 2 after both: whichever
  // write goes last, one read is impossible.
  const std::vector<RegisterOp> h = {Write(0, 1, 0, 10), Write(1, 2, 0, 10), Read(2, 1, 20, 30),
                                     Read(3, 2, 20, 30)};
  const CheckResult r = MustCheck(RegisterModel(), h);
  ASSERT_EQ(r.verdict, Verdict::kIllegal);
  const PartitionResult& p = r.partitions[0];
  EXPECT_EQ(p.linearization.size(), 3u);  // two writes and one read
  ASSERT_EQ(p.candidates.size(), 1u);     // the other read
  EXPECT_FALSE(p.candidates[0].applies);
}

TEST(Checker, TouchingIntervalsAreConcurrent) {
  // The read starts at the instant the write returns: it may go first.
  EXPECT_EQ(
      MustCheck(RegisterModel(), std::vector<RegisterOp>{Write(0, 1, 0, 10), Read(1, 0, 10, 20)})
          .verdict,
      Verdict::kOk);
  EXPECT_EQ(
      MustCheck(RegisterModel(), std::vector<RegisterOp>{Write(0, 1, 0, 10), Read(1, 0, 11, 20)})
          .verdict,
      Verdict::kIllegal);
}

TEST(Checker, PendingOperationsMayComeLast) {
  // A write that never returned may take effect after everything else.
  const std::vector<RegisterOp> h = {Write(0, 5, 0, kNever), Read(1, 0, 10, 20),
                                     Read(1, 0, 30, 40)};
  EXPECT_EQ(MustCheck(RegisterModel(), h).verdict, Verdict::kOk);
  // ... but not before its call.
  const std::vector<RegisterOp> early = {Read(1, 5, 0, 5), Write(0, 5, 10, kNever)};
  EXPECT_EQ(MustCheck(RegisterModel(), early).verdict, Verdict::kIllegal);
}

TEST(Checker, PartitionsAreCheckedSeparately) {
  // Key 0 is fine; key 1 has a stale read; key 2 is fine.
  const std::vector<KeyedOp> h = {KeyedWrite(0, 0, 1, 0, 10), KeyedRead(0, 1, 1, 20, 30),
                                  KeyedWrite(1, 0, 7, 0, 10), KeyedRead(1, 1, 0, 20, 30),
                                  KeyedWrite(2, 2, 3, 5, 15), KeyedRead(2, 2, 3, 40, 50)};
  const CheckResult r = MustCheck(KeyedRegisterModel(), h);
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  ASSERT_EQ(r.partitions.size(), 3u);
  EXPECT_EQ(r.partitions[0].verdict, Verdict::kOk);
  EXPECT_EQ(r.partitions[1].verdict, Verdict::kIllegal);
  EXPECT_EQ(r.partitions[2].verdict, Verdict::kOk);
  EXPECT_EQ(r.partitions[1].ops, (std::vector<size_t>{2, 3}));
  // The model's own explanation is used.
  ASSERT_EQ(r.partitions[1].candidates.size(), 1u);
  EXPECT_EQ(r.partitions[1].candidates[0].note, "read 0 but the register holds 7");
}

TEST(Checker, WorkerCountDoesNotChangeTheResult) {
  std::vector<KeyedOp> h;
  for (int key = 0; key < 20; ++key) {
    h.push_back(KeyedWrite(key, 0, key + 1, 0, 10));
    h.push_back(KeyedRead(key, 1, key % 3 == 0 ? 0 : key + 1, 20, 30));  // keys 0, 3, 6, ... stale
  }
  const CheckResult one = MustCheck(KeyedRegisterModel(), h, {.workers = 1});
  const CheckResult four = MustCheck(KeyedRegisterModel(), h, {.workers = 4});
  ASSERT_EQ(one.partitions.size(), 20u);
  ASSERT_EQ(four.partitions.size(), 20u);
  for (size_t p = 0; p < 20; ++p) {
    EXPECT_EQ(one.partitions[p].verdict, p % 3 == 0 ? Verdict::kIllegal : Verdict::kOk) << p;
    EXPECT_EQ(four.partitions[p].verdict, one.partitions[p].verdict) << p;
    EXPECT_EQ(four.partitions[p].ops, one.partitions[p].ops) << p;
  }
}

TEST(Checker, NoOpsAreLeftOutOfTheSearch) {
  // A read that never returned, with a made-up output: the keyed model calls
  // it a no-op, so the history is fine; the plain register model must place
  // it (its output 0 does not fit after the completed write of 1).
  const std::vector<KeyedOp> keyed = {
      KeyedWrite(0, 0, 1, 0, 10), KeyedRead(0, 1, KeyedRegisterModel::kUnknownOutput, 20, kNever)};
  const CheckResult r = MustCheck(KeyedRegisterModel(), keyed);
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_EQ(r.partitions[0].ops.size(), 2u);  // still listed as the partition's

  const std::vector<RegisterOp> plain = {Write(0, 1, 0, 10), Read(1, 0, 20, kNever)};
  EXPECT_EQ(MustCheck(RegisterModel(), plain).verdict, Verdict::kIllegal);
}

TEST(Checker, MalformedHistoriesAreErrors) {
  absl::StatusOr<CheckResult> r =
      Check(RegisterModel(), std::vector<RegisterOp>{Write(0, 1, 10, 5)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("operation #0 returns"), absl::string_view::npos)
      << r.status();

  RegisterOp no_call = Write(0, 1, 0, 5);
  no_call.call = absl::InfiniteFuture();
  r = Check(RegisterModel(), std::vector<RegisterOp>{no_call});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Checker, ZeroBudgetIsUnknown) {
  const std::vector<RegisterOp> h = {Write(0, 1, 0, 10), Read(1, 1, 20, 30)};
  const CheckResult r = MustCheck(RegisterModel(), h, {.budget = absl::ZeroDuration()});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_TRUE(r.partitions[0].timed_out);
}

TEST(Checker, ConfigurationLimitIsUnknown) {
  // Ten concurrent writes and a read of a value nobody wrote: proving it
  // illegal takes every subset of the writes.
  std::vector<RegisterOp> h;
  for (int c = 0; c < 10; ++c) h.push_back(Write(c, c + 1, 0, 100));
  h.push_back(Read(10, 99, 200, 210));
  const CheckResult limited = MustCheck(RegisterModel(), h, {.max_configurations = 100});
  EXPECT_EQ(limited.verdict, Verdict::kUnknown);
  EXPECT_FALSE(limited.partitions[0].timed_out);
  EXPECT_LE(limited.partitions[0].configurations, 100);
  // With room, the search proves it illegal. The memo keeps it small: the
  // state after a set of writes is one of them, so about 10 * 2^10
  // configurations rather than 10! orders.
  const CheckResult full = MustCheck(RegisterModel(), h);
  EXPECT_EQ(full.verdict, Verdict::kIllegal);
  EXPECT_LT(full.partitions[0].configurations, 20000);
}

// A counter: increments by a given amount, and reads.
struct CounterModel {
  struct Input {
    int64_t add = 0;  // 0: a read
  };
  using Output = int64_t;
  using State = int64_t;
  State Init() const { return 0; }
  std::optional<State> Step(State s, const Input& in, Output out) {
    if (in.add != 0) return s + in.add;
    return out == s ? std::optional<State>(s) : std::nullopt;
  }
  size_t HashState(State s) const { return static_cast<size_t>(s); }
  bool EqualStates(State a, State b) const { return a == b; }
  std::string DescribeOperation(const Input& in, Output out) const {
    return in.add != 0 ? absl::StrCat("add(", in.add, ")") : absl::StrCat("read() -> ", out);
  }
  std::string DescribeState(State s) const { return absl::StrCat(s); }
};

TEST(Checker, CounterReadsSeeOnlySumsOfSubsets) {
  // add 1, add 2, add 4 concurrently; a concurrent read may see any subset
  // sum: 0..7, never 8.
  using Op = Operation<CounterModel::Input, CounterModel::Output>;
  for (int64_t seen = 0; seen <= 8; ++seen) {
    const std::vector<Op> h = {
        {.client = 0, .input = {1}, .output = 0, .call = T(0), .ret = T(100)},
        {.client = 1, .input = {2}, .output = 0, .call = T(0), .ret = T(100)},
        {.client = 2, .input = {4}, .output = 0, .call = T(0), .ret = T(100)},
        {.client = 3, .input = {0}, .output = seen, .call = T(10), .ret = T(20)},
        {.client = 3, .input = {0}, .output = 7, .call = T(200), .ret = T(210)}};
    EXPECT_EQ(MustCheck(CounterModel(), h).verdict, seen <= 7 ? Verdict::kOk : Verdict::kIllegal)
        << seen;
  }
}

// Brute force: is there an order of all operations that respects real time
// (a before b if a returned before b was called) and the register's rules?
bool BruteForceLinearizable(const std::vector<RegisterOp>& h) {
  std::vector<size_t> order(h.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  do {
    bool ok = true;
    int value = 0;
    for (size_t k = 0; k < order.size() && ok; ++k) {
      const RegisterOp& op = h[order[k]];
      for (size_t j = k + 1; j < order.size() && ok; ++j) ok = !(h[order[j]].ret < op.call);
      if (op.input.write) {
        value = op.input.value;
      } else {
        ok = ok && op.output == value;
      }
    }
    if (ok) return true;
  } while (std::next_permutation(order.begin(), order.end()));
  return false;
}

// Whether `steps` is a legal sequence that respects real time among its ops.
bool IsLegalSequence(const std::vector<RegisterOp>& h, const std::vector<LinearizedOp>& steps) {
  int value = 0;
  for (size_t k = 0; k < steps.size(); ++k) {
    const RegisterOp& op = h[steps[k].op];
    for (size_t j = k + 1; j < steps.size(); ++j) {
      if (h[steps[j].op].ret < op.call) return false;
    }
    if (op.input.write) value = op.input.value;
    if (!op.input.write && op.output != value) return false;
    if (steps[k].state_after != absl::StrCat(value)) return false;
  }
  return true;
}

// The register with every optional hook: reads are read-only, writes are
// resets (blind), and a read can only become legal through a write.
struct FastRegisterModel : RegisterModel {
  bool IsReadOnly(const Input& in) const { return !in.write; }
  bool IsReset(const Input& in) const { return in.write; }
  bool MayBecomeLegal(State s, const Input& in, Output out) { return in.write || out == s; }
};
static_assert(ModelWithReads<FastRegisterModel> && ModelWithLookahead<FastRegisterModel>);

TEST(Checker, AgreesWithBruteForceOnSmallRandomHistories) {
  std::mt19937_64 random(20240601);
  auto below = [&](int n) { return static_cast<int>(random() % static_cast<uint64_t>(n)); };
  int illegal = 0;
  constexpr int kHistories = 600;
  for (int trial = 0; trial < kHistories; ++trial) {
    // Up to 7 operations on few instants (many overlaps and touching ends),
    // values 0..2; some writes never return.
    std::vector<RegisterOp> h;
    const int n = 1 + below(7);
    for (int i = 0; i < n; ++i) {
      const int call = below(8);
      const int ret = call + below(4);
      if (below(2) == 0) {
        h.push_back(Write(i, below(3), call, below(6) == 0 ? kNever : ret));
      } else {
        h.push_back(Read(i, below(3), call, ret));
      }
    }
    const bool expected = BruteForceLinearizable(h);
    // The hooks change how the search goes, never the verdict.
    const CheckResult fast = MustCheck(FastRegisterModel(), h, {.workers = 1});
    ASSERT_EQ(fast.verdict, expected ? Verdict::kOk : Verdict::kIllegal) << "trial " << trial;
    const CheckResult r = MustCheck(RegisterModel(), h, {.workers = 1, .explain_ok = true});
    ASSERT_EQ(r.verdict, expected ? Verdict::kOk : Verdict::kIllegal) << "trial " << trial;
    const PartitionResult& p = r.partitions[0];
    EXPECT_TRUE(IsLegalSequence(h, p.linearization)) << "trial " << trial;
    if (expected) {
      EXPECT_EQ(p.linearization.size(), h.size()) << "trial " << trial;
    } else {
      ++illegal;
      EXPECT_LT(p.linearization.size(), h.size()) << "trial " << trial;
      EXPECT_TRUE(p.stuck_on.has_value()) << "trial " << trial;
      EXPECT_FALSE(p.candidates.empty()) << "trial " << trial;
    }
  }
  std::cout << "brute force: " << illegal << " of " << kHistories << " random histories illegal\n";
  // Both verdicts must have been exercised.
  EXPECT_GT(illegal, kHistories / 10);
  EXPECT_LT(illegal, kHistories * 9 / 10);
}

}  // namespace
}  // namespace linearizability
