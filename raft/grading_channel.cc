// raft/grading_channel.cc
//
// Framework, not student code: tells ./grade that a test ended passed, in a
// way student code cannot imitate. ./grade gives each run a fresh secret in
// LAB_GRADE_NONCE; before any student code can run (a constructor with a
// priority: student objects may not have one, grader/audit.py checks), this
// file copies the secret, wipes it from the environment, and appends a
// GoogleTest listener. When a test ends passed, the listener prints
//
//   lab-grade <nonce> passed <Suite.Name>
//
// and ./grade counts a run as passed only if it saw that line (grader/
// verdict.py). Without LAB_GRADE_NONCE (a student running the tests) it does
// nothing. See README "Honesty" for what this does and does not guarantee.

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace lab_grading {
namespace {

// The run's secret: constant-initialized storage, so that it is usable before
// any dynamic initializer runs.
char nonce[65];

class CompletionListener : public testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const testing::TestInfo& info) override {
    const testing::TestResult* result = info.result();
    if (result == nullptr || !result->Passed() || result->Skipped()) return;
    std::string line = std::string("\nlab-grade ") + nonce + " passed " +
                       info.test_suite_name() + "." + info.name() + "\n";
    size_t done = 0;
    while (done < line.size()) {
      ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }
};

// Priority 101 runs before every constructor without a priority, i.e. before
// any static initializer of student code (the listener itself is appended
// later, at ordinary static initialization, once GoogleTest's own globals
// exist).
__attribute__((constructor(101))) void TakeNonce() {
  char* secret = std::getenv("LAB_GRADE_NONCE");
  if (secret == nullptr) return;
  size_t n = std::strlen(secret);
  if (n > 0 && n < sizeof(nonce)) std::memcpy(nonce, secret, n + 1);
  // Wipe the bytes in place (they are also what /proc/self/environ shows),
  // then drop the variable.
  std::memset(secret, 'x', n);
  ::unsetenv("LAB_GRADE_NONCE");
}

const bool installed = [] {
  if (nonce[0] != '\0') {
    testing::UnitTest::GetInstance()->listeners().Append(new CompletionListener);
  }
  return true;
}();

}  // namespace
}  // namespace lab_grading
