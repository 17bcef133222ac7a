// linearizability/kv_model.h
//
// The model of the Lab 3 key/value service, for checker.h: one string
// register per key (P-compositionality: keys are checked separately). Get
// returns the current value ("" if the key was never written), Put sets it,
// Append appends to it. A Get that never returned (its output unknown) is a
// no-op. kv.h wraps this for the KV tester; use that unless you need the
// generic checker's full result.
//
//   HistoryOf<KvModel> history;
//   history.push_back({.client = 0,
//                      .input = {.op = KvOp::kAppend, .key = "k", .value = MakeKvText("x 0 1 y")},
//                      .call = t0, .ret = t1});
//   absl::StatusOr<CheckResult> result = Check(KvModel(), history);
//
// Inputs and outputs hold string_views into the caller's strings, which must
// outlive the check (and any model copy that saw them) and not change: the
// model remembers answers by the address of a Get's output.
//
// States are cheap to copy, hash and compare however long the value: a state
// is a node in an arena of the model copy, holding the last Put or Append
// argument, a link to the state it was appended to, the length, and a
// polynomial hash of the whole value. Equal states are confirmed
// byte by byte, so hash collisions cost time, never a wrong verdict.
//
// Gets are reads and Puts resets, for the search's prunings (model.h): a Get
// is linearized as soon as it is legal, and since Appends only lengthen the
// value, an order of Appends is abandoned as soon as the value stops being a
// prefix of what some Get returned (unless a Put could still come between).
// That keeps append-heavy histories about linear to check.

#ifndef LINEARIZABILITY_KV_MODEL_H_
#define LINEARIZABILITY_KV_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "linearizability/model.h"

namespace linearizability {

enum class KvOp { kGet, kPut, kAppend };

// A Put or Append argument and its hash: make it with MakeKvText.
struct KvText {
  std::string_view text{};
  uint64_t hash = 0;   // polynomial hash of text, mod 2^61 - 1
  uint64_t power = 1;  // the hash's base to the power text.size()
};
KvText MakeKvText(std::string_view text);

struct KvInput {
  KvOp op = KvOp::kGet;
  std::string_view key{};
  KvText value{};  // Put/Append argument
};

struct KvOutput {
  bool known = true;         // false for a Get that never returned
  std::string_view value{};  // what Get returned
};

// Quotes `text` as a C string literal ("a\"b\n"), keeping at most `max_bytes`
// of it: a long text keeps its start and its (longer) end around a note of
// how much was left out.
std::string QuoteAbbreviated(std::string_view text, size_t max_bytes);

class KvModel {
 public:
  using Input = KvInput;
  using Output = KvOutput;
  struct State {
    int32_t node = -1;  // index into nodes_; -1 is the empty value
  };

  // Longest value text shown in DescribeOperation / DescribeState.
  static constexpr size_t kMaxShownBytes = 160;

  // One partition per key, in key order; each lists its operations in history order.
  std::vector<std::vector<size_t>> Partition(const HistoryOf<KvModel>& history) const;
  State Init() const { return State{}; }
  std::optional<State> Step(const State& state, const KvInput& in, const KvOutput& out);
  size_t HashState(const State& state) const;
  bool EqualStates(const State& a, const State& b) const;
  bool IsNoOp(const KvInput& in, const KvOutput& out) const {
    return in.op == KvOp::kGet && !out.known;
  }
  bool IsReadOnly(const KvInput& in) const { return in.op == KvOp::kGet; }
  // Lookahead: without a Put, a Get can only see the value with more
  // appended, so the value must be a prefix of what it returned.
  bool MayBecomeLegal(const State& state, const KvInput& in, const KvOutput& out);
  bool IsReset(const KvInput& in) const { return in.op == KvOp::kPut; }

  std::string DescribeOperation(const KvInput& in,
                                const KvOutput& out) const;  // Get() -> "v", Put("v")
  std::string DescribeState(const State& state) const;       // "v" (abbreviated)
  // For a Get that returned something else: both values (abbreviated) and
  // where they first differ.
  std::string ExplainIllegal(const State& state, const KvInput& in, const KvOutput& out) const;

  // The whole value of a state.
  std::string Value(const State& state) const;
  size_t Length(const State& state) const { return state.node < 0 ? 0 : nodes_[state.node].length; }

 private:
  struct Node {
    int32_t parent;          // the state this was appended to; -1: none (a Put, or "")
    std::string_view chunk;  // the Put or Append argument
    uint64_t length;         // of the whole value
    uint64_t hash;           // of the whole value
    // The first node on the way here from the last Put (or "") whose value
    // is at least kMaxShownBytes long, or this one: its value starts with
    // everything DescribeState shows of the start of this one.
    int32_t head;
  };

  // Whether the state's value is `text`, comparing from the end (where
  // concurrent appends make values differ).
  bool ValueIs(const State& state, std::string_view text) const;
  // Whether the state's value is a prefix of `text`, a Get's output that
  // outlives the model. Remembers each answer, so that asking about a state
  // one Append further costs O(|argument|).
  bool IsPrefixOf(const State& state, std::string_view text);

  std::vector<Node> nodes_;
  struct PrefixKey {
    int32_t node;
    const char* data;
    size_t size;
    bool operator==(const PrefixKey&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const PrefixKey& k) {
      return H::combine(std::move(h), k.node, k.data, k.size);
    }
  };
  absl::flat_hash_map<PrefixKey, bool> is_prefix_;
  // Nodes whose whole value is known to equal a Get's output (the Get was
  // legal there): a walk in IsPrefixOf can stop at one with a memcmp.
  absl::flat_hash_map<int32_t, std::string_view> known_value_;
};

}  // namespace linearizability

#endif  // LINEARIZABILITY_KV_MODEL_H_
