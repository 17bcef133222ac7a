// linearizability/random_history.cc

#include "linearizability/random_history.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace linearizability {
namespace {

// Our own range mapping: the standard distributions differ between
// standard libraries, and histories must be the same everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  // Uniform in [lo, hi] (the modulo bias is negligible here).
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace

std::vector<KvOperation> RandomLegalHistory(const RandomHistoryOptions& options) {
  Random random(options.seed);
  const int64_t max_latency_us =
      std::max<int64_t>(1, absl::ToInt64Microseconds(options.max_latency));
  const int64_t max_think_us = std::max<int64_t>(0, absl::ToInt64Microseconds(options.max_think));
  const absl::Time start = absl::UnixEpoch() + absl::Hours(1);

  std::vector<KvOperation> history;
  std::vector<absl::Time> effect;  // when each operation takes effect
  std::vector<bool> applies;       // whether it takes effect at all
  std::vector<absl::Time> next_call(options.clients, start);
  std::vector<int> calls(options.clients, 0);
  std::vector<int> last(options.clients, -1);
  for (int i = 0; i < options.operations; ++i) {
    // The client whose next call comes first (the lowest id on ties).
    const int c =
        static_cast<int>(std::min_element(next_call.begin(), next_call.end()) - next_call.begin());
    KvOperation op;
    op.client = c;
    op.key = absl::StrCat("k", random.Between(0, options.keys - 1));
    const int64_t kind = random.Between(0, 99);
    const int seq = calls[c]++;
    if (kind < options.get_percent) {
      op.op = KvOp::kGet;
    } else if (kind < options.get_percent + options.put_percent) {
      op.op = KvOp::kPut;
      op.value = absl::StrCat("p ", c, " ", seq);
    } else {
      op.op = KvOp::kAppend;
      op.value = absl::StrCat("x ", c, " ", seq, " y");
    }
    const int64_t latency_us = random.Between(1, max_latency_us);
    op.call = next_call[c];
    op.ret = op.call + absl::Microseconds(latency_us);
    effect.push_back(op.call + absl::Microseconds(random.Between(0, latency_us)));
    applies.push_back(true);
    next_call[c] = op.ret + absl::Microseconds(random.Between(0, max_think_us));
    last[c] = i;
    history.push_back(std::move(op));
  }
  if (options.pending) {
    for (int i : last) {
      if (i < 0) continue;
      history[i].ret = absl::InfiniteFuture();
      applies[i] = random.Between(0, 1) == 0;
    }
  }

  // Run the operations on a map in the order they take effect.
  std::vector<size_t> order(history.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return effect[a] < effect[b]; });
  std::map<std::string, std::string> kv;
  for (size_t i : order) {
    if (!applies[i]) continue;
    KvOperation& op = history[i];
    switch (op.op) {
      case KvOp::kGet:
        op.output = kv[op.key];
        break;
      case KvOp::kPut:
        kv[op.key] = op.value;
        break;
      case KvOp::kAppend:
        kv[op.key] += op.value;
        break;
    }
  }
  return history;
}

}  // namespace linearizability
