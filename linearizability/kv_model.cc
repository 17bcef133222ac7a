// linearizability/kv_model.cc

#include "linearizability/kv_model.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace linearizability {
namespace {

// Polynomial hashing mod the Mersenne prime 2^61 - 1: the hash of a + b is
// hash(a) * base^|b| + hash(b), so an Append's hash costs O(|argument|).
constexpr uint64_t kModulus = (uint64_t{1} << 61) - 1;
constexpr uint64_t kBase = 0x1c8f3a6b5d2e9471 % kModulus;

uint64_t MulMod(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  const uint64_t folded =
      static_cast<uint64_t>(product & kModulus) + static_cast<uint64_t>(product >> 61);
  return folded >= kModulus ? folded - kModulus : folded;
}

uint64_t AddMod(uint64_t a, uint64_t b) {
  const uint64_t sum = a + b;
  return sum >= kModulus ? sum - kModulus : sum;
}

// Debian's Abseil has its own string_view, not std::string_view.
absl::string_view View(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

KvText MakeKvText(std::string_view text) {
  KvText out{.text = text};
  for (unsigned char c : text) {
    out.hash = AddMod(MulMod(out.hash, kBase), c);
    out.power = MulMod(out.power, kBase);
  }
  return out;
}

namespace {

// `head` and `tail` quoted, around a note that `omitted` bytes between them
// were left out (nothing if none were).
std::string QuoteHeadAndTail(std::string_view head, size_t omitted, std::string_view tail) {
  if (omitted == 0)
    return absl::StrCat("\"", absl::CHexEscape(View(head)), absl::CHexEscape(View(tail)), "\"");
  return absl::StrCat("\"", absl::CHexEscape(View(head)), "\"...(", omitted, " more bytes)...\"",
                      absl::CHexEscape(View(tail)), "\"");
}

}  // namespace

std::string QuoteAbbreviated(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return QuoteHeadAndTail(text, 0, "");
  const size_t head = max_bytes / 3;
  const size_t tail = max_bytes - head;
  return QuoteHeadAndTail(text.substr(0, head), text.size() - head - tail,
                          text.substr(text.size() - tail));
}

std::vector<std::vector<size_t>> KvModel::Partition(const HistoryOf<KvModel>& history) const {
  std::map<std::string_view, std::vector<size_t>> by_key;
  for (size_t i = 0; i < history.size(); ++i) by_key[history[i].input.key].push_back(i);
  std::vector<std::vector<size_t>> partitions;
  partitions.reserve(by_key.size());
  for (auto& [key, ops] : by_key) partitions.push_back(std::move(ops));
  return partitions;
}

std::optional<KvModel::State> KvModel::Step(const State& state, const KvInput& in,
                                            const KvOutput& out) {
  switch (in.op) {
    case KvOp::kGet:
      if (!out.known) return state;
      if (Length(state) != out.value.size() || !IsPrefixOf(state, out.value)) return std::nullopt;
      if (state.node >= 0) known_value_.try_emplace(state.node, out.value);
      return state;
    case KvOp::kPut:
      if (in.value.text.empty()) return State{};
      nodes_.push_back({-1, in.value.text, in.value.text.size(), in.value.hash,
                        static_cast<int32_t>(nodes_.size())});
      break;
    case KvOp::kAppend: {
      if (in.value.text.empty()) return state;
      const uint64_t length = Length(state) + in.value.text.size();
      const uint64_t hash = AddMod(MulMod(HashState(state), in.value.power), in.value.hash);
      const bool parent_long = state.node >= 0 && Length(state) >= kMaxShownBytes;
      nodes_.push_back(
          {state.node, in.value.text, length, hash,
           parent_long ? nodes_[state.node].head : static_cast<int32_t>(nodes_.size())});
      break;
    }
  }
  return State{static_cast<int32_t>(nodes_.size() - 1)};
}

size_t KvModel::HashState(const State& state) const {
  return state.node < 0 ? 0 : static_cast<size_t>(nodes_[state.node].hash);
}

bool KvModel::EqualStates(const State& a, const State& b) const {
  if (a.node == b.node) return true;
  if (Length(a) != Length(b) || HashState(a) != HashState(b)) return false;
  return ValueIs(a, Value(b));  // the same hash: confirm (rare)
}

bool KvModel::ValueIs(const State& state, std::string_view text) const {
  if (Length(state) != text.size()) return false;
  size_t end = text.size();
  for (int32_t n = state.node; n >= 0; n = nodes_[n].parent) {
    const std::string_view chunk = nodes_[n].chunk;
    end -= chunk.size();
    if (text.compare(end, chunk.size(), chunk) != 0) return false;
  }
  return true;
}

bool KvModel::MayBecomeLegal(const State& state, const KvInput& in, const KvOutput& out) {
  if (in.op != KvOp::kGet || !out.known) return true;
  return IsPrefixOf(state, out.value);
}

bool KvModel::IsPrefixOf(const State& state, std::string_view text) {
  if (Length(state) > text.size()) return false;
  if (state.node < 0) return true;
  auto [answer, inserted] =
      is_prefix_.try_emplace(PrefixKey{state.node, text.data(), text.size()}, false);
  if (!inserted) return answer->second;
  // Walk towards the first value, checking that each argument sits where it
  // would in `text`, until an ancestor asked about before, or one whose whole
  // value a Get saw, settles the rest. The search asks about states one
  // Append apart, and Gets are frequent, so walks are short.
  bool is_prefix = true;
  for (int32_t n = state.node; n >= 0; n = nodes_[n].parent) {
    if (n != state.node) {
      auto known = is_prefix_.find(PrefixKey{n, text.data(), text.size()});
      if (known != is_prefix_.end()) {
        is_prefix = known->second;
        break;
      }
    }
    if (auto value = known_value_.find(n); value != known_value_.end()) {
      is_prefix = text.substr(0, value->second.size()) == value->second;
      break;
    }
    const Node& node = nodes_[n];
    if (text.compare(node.length - node.chunk.size(), node.chunk.size(), node.chunk) != 0) {
      is_prefix = false;
      break;
    }
  }
  answer->second = is_prefix;
  return is_prefix;
}

std::string KvModel::Value(const State& state) const {
  std::string value(Length(state), '\0');
  size_t end = value.size();
  for (int32_t n = state.node; n >= 0; n = nodes_[n].parent) {
    const std::string_view chunk = nodes_[n].chunk;
    end -= chunk.size();
    if (!chunk.empty()) std::memcpy(value.data() + end, chunk.data(), chunk.size());
  }
  return value;
}

std::string KvModel::DescribeOperation(const KvInput& in, const KvOutput& out) const {
  switch (in.op) {
    case KvOp::kGet:
      return out.known ? absl::StrCat("Get() -> ", QuoteAbbreviated(out.value, kMaxShownBytes))
                       : "Get() -> ?";
    case KvOp::kPut:
      return absl::StrCat("Put(", QuoteAbbreviated(in.value.text, kMaxShownBytes), ")");
    case KvOp::kAppend:
      return absl::StrCat("Append(", QuoteAbbreviated(in.value.text, kMaxShownBytes), ")");
  }
  return "?";
}

std::string KvModel::DescribeState(const State& state) const {
  const size_t length = Length(state);
  if (length <= kMaxShownBytes) return QuoteAbbreviated(Value(state), kMaxShownBytes);
  // Read only what is shown: the start from the node where the value first
  // got long enough, the end from the last few nodes.
  const size_t head_bytes = kMaxShownBytes / 3;
  const size_t tail_bytes = kMaxShownBytes - head_bytes;
  const std::string head = Value(State{nodes_[state.node].head}).substr(0, head_bytes);
  std::string tail;
  for (int32_t n = state.node; n >= 0 && tail.size() < tail_bytes; n = nodes_[n].parent) {
    tail.insert(0, nodes_[n].chunk);
  }
  tail.erase(0, tail.size() - std::min(tail.size(), tail_bytes));
  return QuoteHeadAndTail(head, length - head_bytes - tail_bytes, tail);
}

std::string KvModel::ExplainIllegal(const State& state, const KvInput& in,
                                    const KvOutput& out) const {
  if (in.op != KvOp::kGet || !out.known) return "";  // only a Get can be impossible
  const std::string value = Value(state);
  const std::string_view got = out.value;
  if (value.size() <= kMaxShownBytes && got.size() <= kMaxShownBytes) {
    return absl::StrCat("the value is ", QuoteAbbreviated(value, kMaxShownBytes), " (",
                        value.size(), " bytes), but Get returned ",
                        QuoteAbbreviated(got, kMaxShownBytes), " (", got.size(), " bytes)");
  }
  // Long values: where they part matters more than either whole.
  const size_t common = static_cast<size_t>(
      std::mismatch(value.begin(), value.begin() + std::min(value.size(), got.size()), got.begin())
          .first -
      value.begin());
  constexpr size_t kContext = 40;
  if (common == got.size()) {
    return absl::StrCat("what Get returned (", got.size(), " bytes) is a prefix of the value (",
                        value.size(), " bytes), which goes on with ",
                        QuoteAbbreviated(std::string_view(value).substr(common), kContext));
  }
  if (common == value.size()) {
    return absl::StrCat("the value (", value.size(), " bytes) is a prefix of what Get returned (",
                        got.size(), " bytes), which goes on with ",
                        QuoteAbbreviated(got.substr(common), kContext));
  }
  const size_t from = common > kContext / 2 ? common - kContext / 2 : 0;
  return absl::StrCat(
      "the value (", value.size(), " bytes) and what Get returned (", got.size(),
      " bytes) first differ at byte ", common, ": the value has ...",
      QuoteAbbreviated(std::string_view(value).substr(from, common - from + kContext),
                       2 * kContext),
      "..., Get returned ...",
      QuoteAbbreviated(got.substr(from, common - from + kContext), 2 * kContext), "...");
}

}  // namespace linearizability
