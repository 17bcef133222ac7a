// linearizability/random_history.h
//
// Random legal histories of the KV service, for tests and benchmarks: clients
// call Get/Put/Append on random keys one after another, calls overlap, and
// each call takes effect on a real map at a random instant between its call
// and its return, so the history is linearizable by construction.
//
//   std::vector<KvOperation> h =
//       RandomLegalHistory({.operations = 10000, .clients = 15, .keys = 10});
//
// The same options (seed included) always give the same history.

#ifndef LINEARIZABILITY_RANDOM_HISTORY_H_
#define LINEARIZABILITY_RANDOM_HISTORY_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "linearizability/kv.h"

namespace linearizability {

struct RandomHistoryOptions {
  int operations = 1000;
  int clients = 5;
  int keys = 1;
  int get_percent = 40;  // the rest are Puts and Appends
  int put_percent = 20;
  absl::Duration max_latency = absl::Milliseconds(50);  // call to return, uniform in [1us, this]
  absl::Duration max_think = absl::Milliseconds(5);     // return to the client's next call
  // Each client's last call never returns; a Put/Append among them takes
  // effect or not, at random.
  bool pending = false;
  uint64_t seed = 1;
};

std::vector<KvOperation> RandomLegalHistory(const RandomHistoryOptions& options);

}  // namespace linearizability

#endif  // LINEARIZABILITY_RANDOM_HISTORY_H_
