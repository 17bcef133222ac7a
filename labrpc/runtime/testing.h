// labrpc/runtime/testing.h
//
// Helpers for tests that run the same body under both runtimes.
//
//   class ChanTest : public lab::testing::RuntimeTest {};
//   TEST_P(ChanTest, UnbufferedSendWaitsForReceiver) {
//     RunInWorld([] { ... lab code, gtest assertions ... });
//   }
//   LAB_INSTANTIATE_RUNTIME_TEST(ChanTest);   // ChanTest/threads, ChanTest/sim
//
// RunInWorld() runs the body as a world's main task with a fixed seed
// (LAB_SEED overrides it) and expects the world to end cleanly.

#ifndef LABRPC_RUNTIME_TESTING_H_
#define LABRPC_RUNTIME_TESTING_H_

#include <cstdlib>
#include <functional>
#include <string>

#include "absl/strings/numbers.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"

namespace lab::testing {

// The seed tests use unless LAB_SEED is set.
inline uint64_t TestSeed(uint64_t fallback = 1) {
  uint64_t seed = fallback;
  if (const char* env = std::getenv("LAB_SEED"); env != nullptr && *env) {
    if (!absl::SimpleAtoi(env, &seed)) {
      ADD_FAILURE() << "LAB_SEED=\"" << env << "\" is not a number";
    }
  }
  return seed;
}

inline WorldOptions TestOptions(RuntimeKind kind, uint64_t seed) {
  WorldOptions options;
  options.runtime = kind;
  options.seed = seed;
  options.announce = false;
  return options;
}

// Runs `body` in a fresh world; returns Run()'s status.
inline absl::Status RunWorld(RuntimeKind kind, uint64_t seed, std::function<void()> body,
                             uint64_t* fingerprint = nullptr) {
  World world(TestOptions(kind, seed));
  absl::Status status = world.Run(std::move(body));
  if (fingerprint != nullptr) *fingerprint = world.fingerprint();
  return status;
}

class RuntimeTest : public ::testing::TestWithParam<RuntimeKind> {
 protected:
  RuntimeKind runtime() const { return GetParam(); }
  bool sim() const { return GetParam() == RuntimeKind::kSim; }

  // Runs `body` as a world's main task and expects a clean end.
  void RunInWorld(std::function<void()> body) {
    const uint64_t seed = TestSeed();
    absl::Status status = RunWorld(GetParam(), seed, std::move(body));
    EXPECT_TRUE(status.ok()) << status << "\n(replay: LAB_RUNTIME="
                             << RuntimeName(GetParam()) << " LAB_SEED=" << seed << ")";
  }
};

inline std::string RuntimeParamName(const ::testing::TestParamInfo<RuntimeKind>& info) {
  return std::string(RuntimeName(info.param));
}

}  // namespace lab::testing

#define LAB_INSTANTIATE_RUNTIME_TEST(fixture)                                           \
  INSTANTIATE_TEST_SUITE_P(Runtimes, fixture,                                           \
                           ::testing::Values(::lab::RuntimeKind::kThreads,              \
                                             ::lab::RuntimeKind::kSim),                 \
                           ::lab::testing::RuntimeParamName)

#endif  // LABRPC_RUNTIME_TESTING_H_
