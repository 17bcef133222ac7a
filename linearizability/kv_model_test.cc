// linearizability/kv_model_test.cc
//
// Tests of the KV model on its own: states built by different Put/Append
// sequences are equal exactly when their values are, Get compares whole
// values (also long ones), descriptions quote, escape and abbreviate, and the
// explanation of an impossible Get says where the values part; and the
// checker with this model agrees with brute force on small histories.

#include "linearizability/kv_model.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "linearizability/checker.h"
#include "linearizability/model.h"
#include "linearizability/verdict.h"

namespace linearizability {
namespace {

static_assert(Model<KvModel> && PartitionedModel<KvModel> && ModelWithNoOps<KvModel> &&
              ModelWithReads<KvModel> && ExplainingModel<KvModel>);

// Owns the strings the model's inputs point into.
class KvModelTest : public ::testing::Test {
 protected:
  KvModel::State Apply(KvModel::State s, KvOp op, const std::string& value) {
    texts_.push_back(value);
    const KvInput in{.op = op, .key = "k", .value = MakeKvText(texts_.back())};
    std::optional<KvModel::State> next = model_.Step(s, in, KvOutput{});
    EXPECT_TRUE(next.has_value());
    return next.value_or(KvModel::State{});
  }
  KvModel::State Put(KvModel::State s, const std::string& v) { return Apply(s, KvOp::kPut, v); }
  KvModel::State Append(KvModel::State s, const std::string& v) {
    return Apply(s, KvOp::kAppend, v);
  }
  bool GetSees(KvModel::State s, std::string_view output) {
    return model_
        .Step(s, KvInput{.op = KvOp::kGet, .key = "k", .value = {}},
              KvOutput{.known = true, .value = output})
        .has_value();
  }

  KvModel model_;
  std::deque<std::string> texts_;  // stable addresses
};

TEST_F(KvModelTest, InitialValueIsEmpty) {
  const KvModel::State init = model_.Init();
  EXPECT_EQ(model_.Value(init), "");
  EXPECT_TRUE(GetSees(init, ""));
  EXPECT_FALSE(GetSees(init, "x"));
  EXPECT_EQ(model_.DescribeState(init), "\"\"");
}

TEST_F(KvModelTest, AppendsEqualThePutOfTheirConcatenation) {
  const KvModel::State appended = Append(Append(Append(model_.Init(), "ab"), "c"), "def");
  const KvModel::State put = Put(model_.Init(), "abcdef");
  EXPECT_EQ(model_.Value(appended), "abcdef");
  EXPECT_NE(appended.node, put.node);
  EXPECT_TRUE(model_.EqualStates(appended, put));
  EXPECT_EQ(model_.HashState(appended), model_.HashState(put));
  // Put replaces whatever was there.
  EXPECT_TRUE(model_.EqualStates(Put(appended, "z"), Put(model_.Init(), "z")));
  // Put("") and Append("") to "" are the initial state.
  EXPECT_TRUE(model_.EqualStates(Put(appended, ""), model_.Init()));
  EXPECT_TRUE(model_.EqualStates(Append(model_.Init(), ""), model_.Init()));
}

TEST_F(KvModelTest, DifferentOrdersOfAppendsDiffer) {
  const KvModel::State xy = Append(Append(model_.Init(), "x"), "y");
  const KvModel::State yx = Append(Append(model_.Init(), "y"), "x");
  EXPECT_FALSE(model_.EqualStates(xy, yx));
  EXPECT_TRUE(GetSees(xy, "xy"));
  EXPECT_FALSE(GetSees(xy, "yx"));
  EXPECT_FALSE(GetSees(xy, "x"));
  EXPECT_FALSE(GetSees(xy, "xyz"));
}

TEST_F(KvModelTest, GetComparesLongValuesExactly) {
  KvModel::State s = model_.Init();
  std::string expected;
  for (int i = 0; i < 3000; ++i) {
    const std::string piece = absl::StrCat("x 0 ", i, " y");
    s = Append(s, piece);
    expected += piece;
  }
  EXPECT_TRUE(GetSees(s, expected));
  std::string wrong = expected;
  wrong[7] = 'Q';  // near the start: the comparison from the end must reach it
  EXPECT_FALSE(GetSees(s, wrong));
  EXPECT_EQ(model_.Value(s), expected);
}

TEST_F(KvModelTest, PendingGetIsANoOp) {
  const KvInput get{.op = KvOp::kGet, .key = "k", .value = {}};
  EXPECT_TRUE(model_.IsNoOp(get, KvOutput{.known = false, .value = {}}));
  EXPECT_FALSE(model_.IsNoOp(get, KvOutput{.known = true, .value = {}}));
  texts_.push_back("v");
  EXPECT_FALSE(
      model_.IsNoOp(KvInput{.op = KvOp::kPut, .key = "k", .value = MakeKvText(texts_.back())},
                    KvOutput{.known = false, .value = {}}));
  EXPECT_EQ(model_.DescribeOperation(get, KvOutput{.known = false, .value = {}}), "Get() -> ?");
}

TEST_F(KvModelTest, DescriptionsQuoteEscapeAndAbbreviate) {
  texts_.push_back("a\"b\n<c>");
  const KvInput append{.op = KvOp::kAppend, .key = "k", .value = MakeKvText(texts_.back())};
  EXPECT_EQ(model_.DescribeOperation(append, KvOutput{}), "Append(\"a\\\"b\\n<c>\")");
  EXPECT_EQ(model_.DescribeOperation(KvInput{.op = KvOp::kGet, .key = "k", .value = {}},
                                     KvOutput{.known = true, .value = "v"}),
            "Get() -> \"v\"");

  const std::string long_value = std::string(500, 'a') + "TAIL";
  const KvModel::State s = Put(model_.Init(), long_value);
  const std::string described = model_.DescribeState(s);
  EXPECT_LT(described.size(), KvModel::kMaxShownBytes + 40);
  EXPECT_NE(described.find("more bytes"), std::string::npos) << described;
  EXPECT_NE(described.find("TAIL\""), std::string::npos) << described;  // keeps the end
}

TEST_F(KvModelTest, DescribingALongAppendedValueShowsItsStartAndEnd) {
  // Built by many small appends after a Put, so the start and the end come
  // from different nodes.
  KvModel::State s = Put(model_.Init(), "start:");
  std::string value = "start:";
  for (int i = 0; i < 500; ++i) {
    const std::string piece = absl::StrCat("x ", i, " y");
    s = Append(s, piece);
    value += piece;
  }
  const size_t head = KvModel::kMaxShownBytes / 3;
  const size_t tail = KvModel::kMaxShownBytes - head;
  EXPECT_EQ(model_.DescribeState(s), QuoteAbbreviated(value, KvModel::kMaxShownBytes));
  EXPECT_EQ(model_.DescribeState(s),
            absl::StrCat("\"", value.substr(0, head), "\"...(", value.size() - head - tail,
                         " more bytes)...\"", value.substr(value.size() - tail), "\""));
  // Just past the length where abbreviation starts, too.
  KvModel::State t = Put(model_.Init(), std::string(KvModel::kMaxShownBytes, 'a'));
  t = Append(t, "b");
  EXPECT_EQ(
      model_.DescribeState(t),
      QuoteAbbreviated(std::string(KvModel::kMaxShownBytes, 'a') + "b", KvModel::kMaxShownBytes));
}

TEST_F(KvModelTest, ExplainIllegalSaysWhereLongValuesDiffer) {
  KvModel::State s = model_.Init();
  std::string value;
  for (int i = 0; i < 100; ++i) {
    const std::string piece = absl::StrCat("x 1 ", i, " y");
    s = Append(s, piece);
    value += piece;
  }
  std::string got = value;
  const size_t at = value.find("x 1 50 y");
  got.replace(at, 8, "x 1 51 y");
  const KvInput get{.op = KvOp::kGet, .key = "k", .value = {}};
  const std::string why = model_.ExplainIllegal(s, get, KvOutput{.known = true, .value = got});
  EXPECT_NE(why.find(absl::StrCat("first differ at byte ", at + 5)), std::string::npos) << why;

  // A value Get saw only part of.
  const std::string prefix = value.substr(0, value.size() - 8);
  const std::string why_prefix =
      model_.ExplainIllegal(s, get, KvOutput{.known = true, .value = prefix});
  EXPECT_EQ(why_prefix.rfind("what Get returned (", 0), 0u) << why_prefix;
  EXPECT_NE(why_prefix.find("is a prefix of the value"), std::string::npos) << why_prefix;

  // Short values: both shown whole.
  const KvModel::State small = Put(model_.Init(), "abc");
  EXPECT_EQ(model_.ExplainIllegal(small, get, KvOutput{.known = true, .value = "abd"}),
            "the value is \"abc\" (3 bytes), but Get returned \"abd\" (3 bytes)");
}

// Brute force: is there an order of the calls (leaving out Gets that never
// returned) that respects real time and the KV rules?
bool BruteForceLinearizable(const HistoryOf<KvModel>& h) {
  std::vector<size_t> order;
  for (size_t i = 0; i < h.size(); ++i) {
    if (!(h[i].input.op == KvOp::kGet && !h[i].output.known)) order.push_back(i);
  }
  do {
    bool ok = true;
    std::string value;
    for (size_t k = 0; k < order.size() && ok; ++k) {
      const auto& op = h[order[k]];
      for (size_t j = k + 1; j < order.size() && ok; ++j) ok = !(h[order[j]].ret < op.call);
      switch (op.input.op) {
        case KvOp::kGet:
          ok = ok && op.output.value == value;
          break;
        case KvOp::kPut:
          value = std::string(op.input.value.text);
          break;
        case KvOp::kAppend:
          value += op.input.value.text;
          break;
      }
    }
    if (ok) return true;
  } while (std::next_permutation(order.begin(), order.end()));
  return false;
}

TEST(KvModel, AgreesWithBruteForceOnSmallRandomHistories) {
  // Up to 7 calls on few instants (overlaps, touching ends), from a run on a
  // real value, half of them with one Get's output changed; some calls never
  // return. This exercises the search's forced reads and lookahead.
  static const std::string kTexts[] = {"", "a", "b", "c", "ab", "ba", "bc", "abc", "ca", "aa"};
  std::mt19937_64 random(7);
  auto below = [&](int n) { return static_cast<int>(random() % static_cast<uint64_t>(n)); };
  int illegal = 0;
  constexpr int kHistories = 1500;
  for (int trial = 0; trial < kHistories; ++trial) {
    const int n = 1 + below(7);
    std::vector<int> effect(n);
    std::deque<std::string> outputs;  // stable addresses
    HistoryOf<KvModel> h(n);
    for (int i = 0; i < n; ++i) {
      auto& op = h[i];
      op.client = i;
      op.call = absl::UnixEpoch() + absl::Milliseconds(below(8));
      const int length = below(4);
      op.ret = op.call + absl::Milliseconds(length);
      effect[i] = static_cast<int>(absl::ToInt64Milliseconds(op.call - absl::UnixEpoch())) * 10 +
                  below(length * 10 + 1);
      const int kind = below(3);
      op.input.op = kind == 0 ? KvOp::kGet : kind == 1 ? KvOp::kPut : KvOp::kAppend;
      if (op.input.op != KvOp::kGet) op.input.value = MakeKvText(kTexts[1 + below(3)]);
      if (below(8) == 0)
        op.ret = absl::InfiniteFuture();  // never returned (its effect still happens)
    }
    std::vector<int> order(n);
    for (int i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return effect[a] < effect[b]; });
    std::string value;
    for (int i : order) {
      auto& op = h[i];
      if (op.input.op == KvOp::kPut) value = std::string(op.input.value.text);
      if (op.input.op == KvOp::kAppend) value += op.input.value.text;
      if (op.input.op == KvOp::kGet) {
        outputs.push_back(value);
        op.output = KvOutput{.known = op.ret != absl::InfiniteFuture(), .value = outputs.back()};
      }
    }
    if (below(2) == 0) {
      for (auto& op : h) {
        if (op.input.op == KvOp::kGet && op.output.known) {
          outputs.push_back(kTexts[below(10)]);
          op.output.value = outputs.back();
          break;
        }
      }
    }
    const bool expected = BruteForceLinearizable(h);
    absl::StatusOr<CheckResult> r = Check(KvModel(), h, {.workers = 1});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->verdict, expected ? Verdict::kOk : Verdict::kIllegal) << "trial " << trial;
    illegal += !expected;
  }
  // Both verdicts must have been exercised.
  EXPECT_GT(illegal, kHistories / 10);
  EXPECT_LT(illegal, kHistories * 9 / 10);
}

TEST(KvModel, PartitionsByKeyInKeyOrder) {
  HistoryOf<KvModel> h(5);
  const char* keys[] = {"b", "a", "b", "c", "a"};
  for (int i = 0; i < 5; ++i) h[i].input.key = keys[i];
  EXPECT_EQ(KvModel().Partition(h), (std::vector<std::vector<size_t>>{{1, 4}, {0, 2}, {3}}));
}

}  // namespace
}  // namespace linearizability
