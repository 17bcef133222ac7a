// linearizability/model.h
//
// What the checker checks: a history of operations (what each client asked,
// what it got back, and when), against a model of the object's sequential
// specification. A model is a copyable class like this one, a register:
//
//   struct RegisterModel {
//     struct Input { bool write; int value; };
//     using Output = int;          // what a read returned
//     using State = int;
//     State Init() const { return 0; }
//     // The state after `in` in state `s`, or nullopt if `out` cannot be
//     // what the operation returned in `s`. May update caches in the model
//     // (the checker gives each partition its own copy).
//     std::optional<State> Step(const State& s, const Input& in, const Output& out) {
//       if (in.write) return in.value;
//       if (out != s) return std::nullopt;
//       return s;
//     }
//     size_t HashState(const State& s) const { return absl::HashOf(s); }
//     bool EqualStates(const State& a, const State& b) const { return a == b; }
//     // "write(3)", "read() -> 3"; and "3".
//     std::string DescribeOperation(const Input& in, const Output& out) const;
//     std::string DescribeState(const State& s) const;
//   };
//
// Optional members, used when present:
//   // P-compositionality: split the history into independent parts (e.g.
//   // by key), each linearizable on its own iff the whole is. Each element
//   // lists indices into the history.
//   std::vector<std::vector<size_t>> Partition(const std::vector<Operation<Input, Output>>&) const;
//   // An operation that is legal in every state and changes none (e.g. a read
//   // that never returned, so its output is unknown). The search leaves it
//   // out, which changes no verdict and saves a lot of work.
//   bool IsNoOp(const Input&, const Output&) const;
//   // An operation that never changes the state where it is legal (a read).
//   // The search linearizes such an operation as soon as it is legal instead
//   // of trying it in every order, which saves a lot of work and changes no
//   // verdict. Say true only if Step returns a state equal to its argument
//   // whenever it returns one.
//   bool IsReadOnly(const Input&) const;
//   // Lookahead, for models whose states mostly grow (the KV model's
//   // Appends). MayBecomeLegal: whether a read could be legal in `s` or
//   // after more operations that are not resets. It must be true wherever
//   // the read is legal, and false for `s` must imply false for every state
//   // a non-reset operation leads to from `s`. IsReset: the operation is a
//   // blind write (a Put), whose resulting state does not depend on the
//   // state it is applied in. The search then abandons an order as soon as a
//   // read can no longer be satisfied, instead of when the read returns.
//   bool MayBecomeLegal(const State& s, const Input& read, const Output& out);
//   bool IsReset(const Input&) const;
//   // Why Step rejects the operation in this state, for the report.
//   std::string ExplainIllegal(const State&, const Input&, const Output&) const;

#ifndef LINEARIZABILITY_MODEL_H_
#define LINEARIZABILITY_MODEL_H_

#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace linearizability {

template <class Input, class Output>
struct Operation {
  int client = 0;
  Input input{};
  Output output{};  // ignored by the model when the operation never returned, if it likes
  absl::Time call{};
  absl::Time ret = absl::InfiniteFuture();  // InfiniteFuture(): never returned
};

template <class M>
using HistoryOf = std::vector<Operation<typename M::Input, typename M::Output>>;

template <class M>
concept Model = std::copy_constructible<M> &&
    requires(M& m, const M& cm, const typename M::State& s, const typename M::Input& in,
             const typename M::Output& out) {
  { cm.Init() } -> std::convertible_to<typename M::State>;
  { m.Step(s, in, out) } -> std::convertible_to<std::optional<typename M::State>>;
  { cm.HashState(s) } -> std::convertible_to<size_t>;
  { cm.EqualStates(s, s) } -> std::convertible_to<bool>;
  { cm.DescribeOperation(in, out) } -> std::convertible_to<std::string>;
  { cm.DescribeState(s) } -> std::convertible_to<std::string>;
};

template <class M>
concept PartitionedModel = Model<M> && requires(const M& m, const HistoryOf<M>& history) {
  { m.Partition(history) } -> std::convertible_to<std::vector<std::vector<size_t>>>;
};

template <class M>
concept ModelWithNoOps = Model<M> &&
    requires(const M& m, const typename M::Input& in, const typename M::Output& out) {
  { m.IsNoOp(in, out) } -> std::convertible_to<bool>;
};

template <class M>
concept ModelWithReads = Model<M> && requires(const M& m, const typename M::Input& in) {
  { m.IsReadOnly(in) } -> std::convertible_to<bool>;
};

template <class M>
concept ModelWithLookahead = ModelWithReads<M> &&
    requires(M& m, const M& cm, const typename M::State& s, const typename M::Input& in,
             const typename M::Output& out) {
  { m.MayBecomeLegal(s, in, out) } -> std::convertible_to<bool>;
  { cm.IsReset(in) } -> std::convertible_to<bool>;
};

template <class M>
concept ExplainingModel = Model<M> &&
    requires(const M& m, const typename M::State& s, const typename M::Input& in,
             const typename M::Output& out) {
  { m.ExplainIllegal(s, in, out) } -> std::convertible_to<std::string>;
};

}  // namespace linearizability

#endif  // LINEARIZABILITY_MODEL_H_
