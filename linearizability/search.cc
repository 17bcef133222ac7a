// linearizability/search.cc
//
// The depth-first search. Operations are renumbered by "rank", the order of
// their return events, for two reasons: the entry list then holds returns in
// rank order, and the set of linearized operations always contains every rank
// below the first return still in the list, which makes a compact exact key
// for memoization (see ConfigKey).
//
// A configuration's first scan looks at the reads (ExamineReads): a legal one
// is linearized as a forced move, which is never undone in favour of another
// choice; a read that can never be satisfied kills the configuration. Then the
// scan tries each other operation that could come next, in the order of the
// entry list, until it reaches the first return: that operation had to be
// linearized by then, so the search backtracks.

#include "linearizability/search.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace linearizability {
namespace {

// A configuration of the search: which operations are linearized, and the
// state they lead to. The set is stored as its number of leading all-ones
// words plus the nonzero words after them. Linearized operations beyond the
// leading run are the few that overlap the earliest pending return, so this
// is usually one or two words however long the history.
struct ConfigKey {
  int32_t state = 0;
  uint32_t full_words = 0;
  absl::InlinedVector<std::pair<uint32_t, uint64_t>, 2> words;

  bool operator==(const ConfigKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const ConfigKey& key) {
    return H::combine(std::move(h), key.state, key.full_words, key.words);
  }
};

// The set of linearized operations, by rank, as a bitset that also tracks
// its leading all-ones words and which words are nonzero, so that MakeKey
// costs the number of nonzero words rather than the size of the history.
class LinearizedSet {
 public:
  explicit LinearizedSet(size_t n) : words_((n + 63) / 64), nonzero_((words_.size() + 63) / 64) {}

  void Insert(int32_t rank) {
    const size_t w = static_cast<size_t>(rank) / 64;
    words_[w] |= uint64_t{1} << (rank % 64);
    nonzero_[w / 64] |= uint64_t{1} << (w % 64);
    while (full_ < words_.size() && words_[full_] == ~uint64_t{0}) ++full_;
  }

  void Erase(int32_t rank) {
    const size_t w = static_cast<size_t>(rank) / 64;
    words_[w] &= ~(uint64_t{1} << (rank % 64));
    if (words_[w] == 0) nonzero_[w / 64] &= ~(uint64_t{1} << (w % 64));
    full_ = std::min(full_, w);
  }

  // The lowest index not in the set (at least the set's capacity if none).
  size_t FirstAbsent() const {
    if (full_ == words_.size()) return full_ * 64;
    return full_ * 64 + static_cast<size_t>(std::countr_one(words_[full_]));
  }

  // The lowest index >= i not in the set (at least the capacity if none).
  size_t NextAbsent(size_t i) const {
    size_t w = i / 64;
    if (w >= words_.size()) return words_.size() * 64;
    uint64_t absent = ~words_[w] & (~uint64_t{0} << (i % 64));
    while (absent == 0) {
      if (++w == words_.size()) return w * 64;
      absent = ~words_[w];
    }
    return w * 64 + static_cast<size_t>(std::countr_zero(absent));
  }

  void MakeKey(int32_t state, ConfigKey* key) const {
    key->state = state;
    key->full_words = static_cast<uint32_t>(full_);
    key->words.clear();
    for (size_t s = full_ / 64; s < nonzero_.size(); ++s) {
      uint64_t bits = nonzero_[s];
      if (s == full_ / 64) bits &= ~uint64_t{0} << (full_ % 64);  // words >= full_
      while (bits != 0) {
        const size_t w = s * 64 + static_cast<size_t>(std::countr_zero(bits));
        bits &= bits - 1;
        key->words.emplace_back(static_cast<uint32_t>(w), words_[w]);
      }
    }
  }

 private:
  std::vector<uint64_t> words_;
  std::vector<uint64_t> nonzero_;  // bit w: words_[w] != 0
  size_t full_ = 0;                // words_[0, full_) are all ones
};

// The entry list: a circular doubly linked list of call and return events in
// time order, with a sentinel. Node 2r is the call of the operation of rank
// r, node 2r+1 its return. Lifting an operation unlinks both of its nodes;
// unlifting, in the reverse order of lifting, relinks them where they were.
// Scans stop at the first return, which a non-empty list always has before
// its sentinel (whose even number would pass for a call's).
class EntryList {
 public:
  // `order` lists every node once, in time order.
  explicit EntryList(const std::vector<int32_t>& order)
      : sentinel_(static_cast<int32_t>(order.size())),
        next_(order.size() + 1),
        prev_(order.size() + 1) {
    int32_t last = sentinel_;
    for (int32_t node : order) {
      next_[last] = node;
      prev_[node] = last;
      last = node;
    }
    next_[last] = sentinel_;
    prev_[sentinel_] = last;
  }

  int32_t First() const { return next_[sentinel_]; }
  int32_t Next(int32_t node) const { return next_[node]; }
  bool Empty() const { return next_[sentinel_] == sentinel_; }

  void Lift(int32_t rank) {
    Unlink(2 * rank);
    Unlink(2 * rank + 1);
  }
  void Unlift(int32_t rank) {
    Relink(2 * rank + 1);
    Relink(2 * rank);
  }

  static bool IsCall(int32_t node) { return node % 2 == 0; }
  static int32_t RankOf(int32_t node) { return node / 2; }

 private:
  void Unlink(int32_t node) {
    next_[prev_[node]] = next_[node];
    prev_[next_[node]] = prev_[node];
  }
  void Relink(int32_t node) {
    next_[prev_[node]] = node;
    prev_[next_[node]] = node;
  }

  const int32_t sentinel_;
  std::vector<int32_t> next_;
  std::vector<int32_t> prev_;
};

class Searcher {
 public:
  Searcher(const std::vector<SearchInterval>& ops, StepOracle& oracle, const SearchLimits& limits)
      : oracle_(oracle),
        limits_(limits),
        n_(static_cast<int32_t>(ops.size())),
        linearized_(ops.size()),
        list_(EventOrder(ops)),
        resets_linearized_(0),
        reads_linearized_(0) {
    ClassifyOperations(ops);
  }

  SearchOutcome Run();

 private:
  struct Frame {
    int32_t rank;
    int32_t state_before;
    // A read linearized as soon as it became legal: the only way on from
    // the configuration below it, so there is nothing else to try there.
    bool forced;
  };

  // Sorts the operations by return (rank) and returns the list's node order.
  std::vector<int32_t> EventOrder(const std::vector<SearchInterval>& ops);
  // Asks the oracle which operations are reads and resets.
  void ClassifyOperations(const std::vector<SearchInterval>& ops);

  // Where `rank` leads from `state`, asking the oracle once per pair.
  int32_t Transition(int32_t state, int32_t rank) {
    const uint64_t key = (static_cast<uint64_t>(state) << 32) | static_cast<uint32_t>(rank);
    auto [it, inserted] = transitions_.try_emplace(key, kIllegalStep);
    if (inserted) it->second = oracle_.Step(state, op_of_rank_[rank]);
    return it->second;
  }

  // Copies the stack into the longest linearization found, reusing the
  // prefix the two still share (so the copying costs O(1) per push overall).
  void SnapshotStack() {
    out_.longest.resize(shared_with_longest_);
    for (size_t i = shared_with_longest_; i < stack_.size(); ++i) {
      const int32_t after = i + 1 < stack_.size() ? stack_[i + 1].state_before : state_;
      out_.longest.push_back({stack_[i].rank, after});
    }
    shared_with_longest_ = stack_.size();
    recorded_depth_ = static_cast<int64_t>(stack_.size());
  }

  // At a dead end (`return_node` is the first return in the list; `doomed`
  // the read that can never be linearized, if that is why): records it if
  // it is the deepest so far.
  void RecordDeadEnd(int32_t return_node, int32_t doomed = -1) {
    if (static_cast<int64_t>(stack_.size()) <= recorded_depth_) return;
    SnapshotStack();
    out_.stuck_on = EntryList::RankOf(return_node);
    out_.doomed = doomed;
    out_.candidates.clear();
    // Every node before the first return is a call that could come next;
    // the scan just tried each, so their transitions are cached.
    for (int32_t node = list_.First(); node != return_node; node = list_.Next(node)) {
      const int32_t rank = EntryList::RankOf(node);
      out_.candidates.push_back({rank, Transition(state_, rank)});
    }
  }

  // Linearizes `rank`, leading to `next_state`, unless that configuration
  // was explored before.
  bool TryPush(int32_t rank, int32_t next_state, bool forced) {
    linearized_.Insert(rank);
    linearized_.MakeKey(next_state, &key_);
    if (!memo_.insert(key_).second) {
      linearized_.Erase(rank);
      return false;
    }
    stack_.push_back({rank, state_, forced});
    state_ = next_state;
    list_.Lift(rank);
    if (reset_index_[rank] >= 0) resets_linearized_.Insert(reset_index_[rank]);
    if (read_index_[rank] >= 0) reads_linearized_.Insert(read_index_[rank]);
    return true;
  }

  // Undoes choices back to the last one that has untried alternatives and
  // returns the node to resume the scan at, or -1 if there is none (no
  // linearization exists).
  int32_t Backtrack() {
    while (!stack_.empty()) {
      const Frame top = stack_.back();
      stack_.pop_back();
      shared_with_longest_ = std::min(shared_with_longest_, stack_.size());
      state_ = top.state_before;
      linearized_.Erase(top.rank);
      list_.Unlift(top.rank);
      if (reset_index_[top.rank] >= 0) resets_linearized_.Erase(reset_index_[top.rank]);
      if (read_index_[top.rank] >= 0) reads_linearized_.Erase(read_index_[top.rank]);
      if (!top.forced) return list_.Next(2 * top.rank);
    }
    return -1;
  }

  // Whether the read `rank` can never be linearized from the current state.
  // Only operations called by its return can precede it. Reads among them
  // change nothing, other non-resets keep it impossible if it is impossible
  // now, and a reset leads to the same state wherever it is applied; so it
  // is doomed if it is impossible from the current state and from the state
  // after each reset that could precede it.
  bool Doomed(int32_t rank) {
    const int32_t op = op_of_rank_[rank];
    if (oracle_.MayBecomeLegal(state_, op)) return false;
    for (size_t i = resets_linearized_.FirstAbsent(); i < reset_by_call_.size();
         i = resets_linearized_.NextAbsent(i + 1)) {
      const int32_t reset = reset_by_call_[i];
      if (call_of_rank_[reset] > ret_of_rank_[rank]) break;
      const int32_t after = Transition(0, reset);
      if (after != kIllegalStep && oracle_.MayBecomeLegal(after, op)) return false;
    }
    return true;
  }

  // Looks at the reads: returns the first legal one among the operations
  // that could come next, or -1; or kDead if a read that could come next, or
  // one of the next reads to be called, can never be linearized from here.
  static constexpr int32_t kDead = -2;
  static constexpr int kFutureReadsExamined = 2;
  int32_t ExamineReads() {
    int32_t node = list_.First();
    int32_t doomed = -1;
    for (; EntryList::IsCall(node); node = list_.Next(node)) {
      const int32_t rank = EntryList::RankOf(node);
      if (!read_only_[rank]) continue;
      if (Transition(state_, rank) == state_) return rank;
      if (doomed < 0 && lookahead_ && Doomed(rank)) doomed = rank;
    }
    // `node` is the first return: reads called after it are not candidates.
    const absl::Time frontier = ret_of_rank_[EntryList::RankOf(node)];
    if (lookahead_) {
      int examined = 0;
      for (size_t i = reads_linearized_.FirstAbsent(); doomed < 0 && i < read_by_call_.size();
           i = reads_linearized_.NextAbsent(i + 1)) {
        const int32_t rank = read_by_call_[i];
        if (call_of_rank_[rank] <= frontier) continue;  // a candidate, seen above
        if (Doomed(rank)) doomed = rank;
        if (++examined == kFutureReadsExamined) break;
      }
    }
    if (doomed < 0) return -1;
    RecordDeadEnd(node, doomed);
    return kDead;
  }

  // Ends with kUnknown, keeping the current path if it is the deepest yet
  // (it has no dead end to show).
  void GiveUp(bool timed_out) {
    out_.timed_out = timed_out;
    if (static_cast<int64_t>(stack_.size()) > recorded_depth_) {
      SnapshotStack();
      out_.stuck_on = -1;
      out_.doomed = -1;
      out_.candidates.clear();
    }
    Finish(Verdict::kUnknown);
  }

  // Maps ranks in the outcome back to the caller's operation indices.
  void Finish(Verdict verdict);

  StepOracle& oracle_;
  const SearchLimits limits_;
  const int32_t n_;
  std::vector<int32_t> op_of_rank_;
  std::vector<absl::Time> call_of_rank_;
  std::vector<absl::Time> ret_of_rank_;
  std::vector<bool> read_only_;  // by rank
  bool any_read_only_ = false;
  LinearizedSet linearized_;
  EntryList list_;
  bool lookahead_ = false;              // the oracle prunes with MayBecomeLegal
  std::vector<int32_t> reset_by_call_;  // the resets' ranks, by call time
  std::vector<int32_t> reset_index_;    // by rank: index in reset_by_call_, or -1
  LinearizedSet resets_linearized_;     // indices into reset_by_call_
  std::vector<int32_t> read_by_call_;   // the reads' ranks, by call time
  std::vector<int32_t> read_index_;     // by rank: index in read_by_call_, or -1
  LinearizedSet reads_linearized_;      // indices into read_by_call_

  absl::flat_hash_map<uint64_t, int32_t> transitions_;
  absl::flat_hash_set<ConfigKey> memo_;
  ConfigKey key_;  // scratch

  int32_t state_ = 0;
  std::vector<Frame> stack_;
  size_t shared_with_longest_ = 0;  // stack_[0, this) equals out_.longest's ops
  int64_t recorded_depth_ = -1;     // out_.longest.size(), or -1 before the first record
  SearchOutcome out_;
};

std::vector<int32_t> Searcher::EventOrder(const std::vector<SearchInterval>& ops) {
  op_of_rank_.resize(ops.size());
  std::iota(op_of_rank_.begin(), op_of_rank_.end(), 0);
  std::stable_sort(op_of_rank_.begin(), op_of_rank_.end(),
                   [&](int32_t a, int32_t b) { return ops[a].ret < ops[b].ret; });
  struct Event {
    absl::Time time;
    int kind;  // 0 = call, 1 = return: at equal times calls come first, so
               // touching intervals count as concurrent.
    int32_t rank;
  };
  std::vector<Event> events;
  events.reserve(2 * ops.size());
  for (int32_t rank = 0; rank < n_; ++rank) {
    const SearchInterval& op = ops[op_of_rank_[rank]];
    events.push_back({op.call, 0, rank});
    events.push_back({op.ret, 1, rank});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.time, a.kind, a.rank) < std::tie(b.time, b.kind, b.rank);
  });
  std::vector<int32_t> order;
  order.reserve(events.size());
  for (const Event& e : events) order.push_back(2 * e.rank + e.kind);
  return order;
}

void Searcher::ClassifyOperations(const std::vector<SearchInterval>& ops) {
  call_of_rank_.resize(n_);
  ret_of_rank_.resize(n_);
  read_only_.resize(n_);
  for (int32_t rank = 0; rank < n_; ++rank) {
    const int32_t op = op_of_rank_[rank];
    call_of_rank_[rank] = ops[op].call;
    ret_of_rank_[rank] = ops[op].ret;
    read_only_[rank] = oracle_.IsReadOnly(op);
    any_read_only_ = any_read_only_ || read_only_[rank];
    if (read_only_[rank]) {
      read_by_call_.push_back(rank);
    } else if (oracle_.IsReset(op)) {
      reset_by_call_.push_back(rank);
    }
  }
  lookahead_ = any_read_only_ && oracle_.HasLookahead();
  auto by_call = [&](int32_t a, int32_t b) { return call_of_rank_[a] < call_of_rank_[b]; };
  auto index = [&](std::vector<int32_t>& order, std::vector<int32_t>& index_of,
                   LinearizedSet& set) {
    std::stable_sort(order.begin(), order.end(), by_call);
    index_of.assign(n_, -1);
    for (size_t i = 0; i < order.size(); ++i) index_of[order[i]] = static_cast<int32_t>(i);
    set = LinearizedSet(order.size());
  };
  index(reset_by_call_, reset_index_, resets_linearized_);
  index(read_by_call_, read_index_, reads_linearized_);
}

SearchOutcome Searcher::Run() {
  int32_t entry = list_.First();
  bool fresh = true;  // at a configuration not scanned yet
  while (true) {
    if (list_.Empty()) {
      SnapshotStack();  // every operation is linearized
      out_.stuck_on = -1;
      out_.doomed = -1;
      out_.candidates.clear();
      Finish(Verdict::kOk);
      break;
    }
    // Checking the clock every 256 steps keeps its cost negligible; checking
    // on step 0 makes a zero budget give up at once.
    if ((out_.steps++ & 255) == 0 && absl::Now() >= limits_.deadline) {
      GiveUp(/*timed_out=*/true);
      break;
    }
    if (static_cast<int64_t>(memo_.size()) >= limits_.max_configurations) {
      GiveUp(/*timed_out=*/false);
      break;
    }
    if (fresh && any_read_only_) {
      fresh = false;
      const int32_t read = ExamineReads();
      if (read != -1) {
        // A legal read goes next, unless that configuration was explored
        // before (and failed, so this one fails too); or a read can never be
        // legal from here.
        if (read >= 0 && TryPush(read, state_, /*forced=*/true)) {
          entry = list_.First();
          fresh = true;
        } else if ((entry = Backtrack()) < 0) {
          Finish(Verdict::kIllegal);
          break;
        }
        continue;
      }
    }
    if (EntryList::IsCall(entry)) {
      // Try to linearize this operation next. (A read here is illegal: the
      // legal ones were linearized above.)
      const int32_t rank = EntryList::RankOf(entry);
      if (!read_only_[rank]) {
        const int32_t next_state = Transition(state_, rank);
        if (next_state != kIllegalStep && TryPush(rank, next_state, /*forced=*/false)) {
          entry = list_.First();
          fresh = true;
          continue;
        }
      }
      entry = list_.Next(entry);
    } else {
      // An operation returned and no way of linearizing it before its return
      // worked from here: undo the last choice and try the next candidate.
      RecordDeadEnd(entry);
      if ((entry = Backtrack()) < 0) {
        Finish(Verdict::kIllegal);
        break;
      }
    }
  }
  return std::move(out_);
}

void Searcher::Finish(Verdict verdict) {
  out_.verdict = verdict;
  out_.configurations = static_cast<int64_t>(memo_.size());
  for (SearchStep& step : out_.longest) step.op = op_of_rank_[step.op];
  for (SearchStep& step : out_.candidates) step.op = op_of_rank_[step.op];
  if (out_.stuck_on >= 0) out_.stuck_on = op_of_rank_[out_.stuck_on];
  if (out_.doomed >= 0) out_.doomed = op_of_rank_[out_.doomed];
}

}  // namespace

SearchOutcome Search(const std::vector<SearchInterval>& ops, StepOracle& oracle,
                     const SearchLimits& limits) {
  return Searcher(ops, oracle, limits).Run();
}

}  // namespace linearizability
