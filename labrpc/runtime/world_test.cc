// labrpc/runtime/world_test.cc
//
// lab::World as a whole, in both runtimes unless a test says otherwise:
// options from the environment, Run()'s rules, what happens to tasks that
// will not stop, exceptions escaping tasks, runtime calls made outside any
// world, and a teardown that leaves nothing behind.

#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"

namespace {

using lab::RuntimeKind;
using lab::testing::RunWorld;
using lab::testing::TestOptions;
using lab::testing::TestSeed;

// Sets (or, with nullopt, unsets) an environment variable for a scope, and
// restores what was there before.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    if (value) {
      setenv(name, value->c_str(), /*overwrite=*/1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (saved_) {
      setenv(name_, saved_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* const name_;
  std::optional<std::string> saved_;
};

// ---------------------------------------------------------------------------
// WorldOptions::FromEnv

TEST(WorldOptionsFromEnv, ReadsTheRuntime) {
  ScopedEnv seed("LAB_SEED", "1");
  {
    ScopedEnv env("LAB_RUNTIME", "sim");
    absl::StatusOr<lab::WorldOptions> o = lab::WorldOptions::FromEnv();
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(o->runtime, RuntimeKind::kSim);
  }
  {
    ScopedEnv env("LAB_RUNTIME", "threads");
    absl::StatusOr<lab::WorldOptions> o = lab::WorldOptions::FromEnv();
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(o->runtime, RuntimeKind::kThreads);
  }
  // Unset or empty: threads, the default.
  for (std::optional<std::string> value : {std::optional<std::string>(), std::optional<std::string>("")}) {
    ScopedEnv env("LAB_RUNTIME", value);
    absl::StatusOr<lab::WorldOptions> o = lab::WorldOptions::FromEnv();
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(o->runtime, RuntimeKind::kThreads);
  }
}

TEST(WorldOptionsFromEnv, UnknownRuntimeSaysWhatIsWrong) {
  ScopedEnv env("LAB_RUNTIME", "bogus");
  absl::StatusOr<lab::WorldOptions> o = lab::WorldOptions::FromEnv();
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(o.status().message());
  EXPECT_TRUE(absl::StrContains(message, "LAB_RUNTIME")) << message;
  EXPECT_TRUE(absl::StrContains(message, "bogus")) << message;
  EXPECT_TRUE(absl::StrContains(message, "threads")) << message;
  EXPECT_TRUE(absl::StrContains(message, "sim")) << message;
}

TEST(WorldOptionsFromEnv, ReadsTheSeed) {
  ScopedEnv runtime("LAB_RUNTIME", "sim");
  {
    ScopedEnv env("LAB_SEED", "42");
    absl::StatusOr<lab::WorldOptions> o = lab::WorldOptions::FromEnv();
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(o->seed, 42u);
  }
  // Unset or empty: a fresh random seed each time.
  for (std::optional<std::string> value : {std::optional<std::string>(), std::optional<std::string>("")}) {
    ScopedEnv env("LAB_SEED", value);
    std::set<uint64_t> seeds;
    for (int i = 0; i < 5; ++i) {
      absl::StatusOr<lab::WorldOptions> o = lab::WorldOptions::FromEnv();
      ASSERT_TRUE(o.ok()) << o.status();
      seeds.insert(o->seed);
    }
    EXPECT_GE(seeds.size(), 2u);
  }
}

TEST(WorldOptionsFromEnv, BadSeedSaysWhatIsWrong) {
  for (const char* bad : {"abc", "12abc", "-"}) {
    ScopedEnv env("LAB_SEED", bad);
    absl::StatusOr<lab::WorldOptions> o = lab::WorldOptions::FromEnv();
    ASSERT_FALSE(o.ok()) << "LAB_SEED=" << bad;
    EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(o.status().message());
    EXPECT_TRUE(absl::StrContains(message, "LAB_SEED")) << message;
    EXPECT_TRUE(absl::StrContains(message, bad)) << message;
  }
}

TEST(WorldOptionsFromEnvDeathTest, FromEnvOrDieExitsWithTheReason) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ScopedEnv env("LAB_RUNTIME", "bogus");
  EXPECT_EXIT(lab::WorldOptions::FromEnvOrDie(), ::testing::ExitedWithCode(2),
              "LAB_RUNTIME.*bogus");
}

// ---------------------------------------------------------------------------
// World::Run's rules, in both runtimes

class WorldTest : public lab::testing::RuntimeTest {};

TEST_P(WorldTest, RunTwiceIsAnError) {
  // A world runs once; a second Run() reports an error and runs nothing.
  lab::World world(TestOptions(runtime(), TestSeed()));
  int first_runs = 0;
  int second_runs = 0;
  absl::Status first = world.Run([&] { ++first_runs; });
  ASSERT_TRUE(first.ok()) << first;
  absl::Status second = world.Run([&] { ++second_runs; });
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition) << second;
  EXPECT_TRUE(absl::StrContains(second.message(), "once")) << second;
  EXPECT_EQ(first_runs, 1);
  EXPECT_EQ(second_runs, 0);
}

TEST_P(WorldTest, RunFromInsideATaskIsAnError) {
  // Worlds do not nest: Run() from a task of a running world reports an
  // error, whether on a new world or on the running one.
  lab::World outer(TestOptions(runtime(), TestSeed()));
  bool inner_ran = false;
  absl::Status nested, reentered;
  // Outside the world: the helper may still be inside Send() when main's
  // Recv() returns.
  lab::Chan<int> done;
  absl::Status status = outer.Run([&] {
    lab::World inner(TestOptions(runtime(), TestSeed()));
    nested = inner.Run([&] { inner_ran = true; });
    lab::Go("helper", [&] {
      reentered = outer.Run([&] { inner_ran = true; });
      done.Send(1);
    });
    done.Recv();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_FALSE(nested.ok());
  EXPECT_EQ(nested.code(), absl::StatusCode::kFailedPrecondition) << nested;
  EXPECT_TRUE(absl::StrContains(nested.message(), "inside")) << nested;
  EXPECT_FALSE(reentered.ok());
  EXPECT_FALSE(inner_ran);
}

// ---------------------------------------------------------------------------
// Teardown

std::atomic<int> g_owned_live{0};
std::atomic<int> g_owned_made{0};
struct Owned {
  Owned() {
    ++g_owned_live;
    ++g_owned_made;
  }
  ~Owned() { --g_owned_live; }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
};

TEST_P(WorldTest, TeardownLeavesNoTasks) {
  // When main returns, every task still running is killed and waited for:
  // whatever they own (captured by their function or on their stack) is
  // destroyed before Run() returns, wherever they were blocked.
  g_owned_live = 0;
  g_owned_made = 0;
  // Shared objects outlive the world: tasks may use them while they unwind.
  // On the heap, so ThreadSanitizer forgets their locks when they go (the
  // threads and sim instances lock them in different orders).
  struct Shared {
    lab::Mutex mu;
    lab::CondVar cv;  // never notified
    lab::Chan<int> never_sent;
    lab::Chan<int> never_received;
  };
  auto shared = std::make_unique<Shared>();
  lab::Mutex& mu = shared->mu;
  lab::CondVar& cv = shared->cv;
  lab::Chan<int>& never_sent = shared->never_sent;
  lab::Chan<int>& never_received = shared->never_received;
  std::atomic<int> started{0};
  absl::Status status = RunWorld(runtime(), TestSeed(), [&] {
    auto owned = [] { return std::make_shared<Owned>(); };
    lab::Go("sleeper", [&, o = owned()] {
      Owned on_stack;
      ++started;
      lab::SleepFor(absl::Hours(1));
    });
    lab::Go("waiter", [&, o = owned()] {
      Owned on_stack;
      lab::MutexLock l(&mu);
      ++started;
      while (true) cv.Wait(&mu);
    });
    lab::Go("receiver", [&, o = owned()] {
      Owned on_stack;
      ++started;
      never_sent.Recv();
    });
    lab::Go("sender", [&, o = owned()] {
      Owned on_stack;
      ++started;
      never_received.Send(1);
    });
    lab::Go("parent", [&, o = owned()] {
      Owned on_stack;
      lab::Go("child", [&, o = owned()] {
        Owned on_stack;
        ++started;
        lab::SleepFor(absl::Hours(1));
      });
      ++started;
      lab::SleepFor(absl::Hours(1));
    });
    lab::TaskGroup group("group");
    group.Go("member", [&, o = owned()] {
      Owned on_stack;
      ++started;
      lab::SleepFor(absl::Hours(1));
    });
    while (started < 7) lab::SleepFor(absl::Milliseconds(1));
    // Started just before main returns: it may never run, but what it owns
    // goes all the same.
    lab::Go("late", [o = owned()] { Owned on_stack; });
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(started, 7);
  EXPECT_GE(g_owned_made, 8 + 7);  // 8 captured, 7 or 8 on stacks
  EXPECT_EQ(g_owned_live, 0);
}

LAB_INSTANTIATE_RUNTIME_TEST(WorldTest);

// ---------------------------------------------------------------------------
// Tasks that will not stop

// volatile: each read is a side effect, so the optimizer can neither fold the
// flag (nothing clears it) nor drop the loop as one that does nothing.
volatile bool g_spin = true;
std::atomic<bool> g_spinning{false};

// Never makes a runtime call.
void SpinForever() {
  g_spinning = true;
  while (g_spin) {
  }
}

TEST(ThreadsShutdownDeathTest, BusyTaskAtShutdownIsNamed) {
  // threads: a task that never makes a runtime call cannot be stopped; when
  // main returns and the grace period passes, the process names it and exits.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        lab::WorldOptions options = TestOptions(RuntimeKind::kThreads, TestSeed());
        options.shutdown_grace = absl::Milliseconds(200);
        lab::World world(options);
        (void)world.Run([] {
          lab::Go("spinner", SpinForever);
          while (!g_spinning) lab::SleepFor(absl::Milliseconds(1));
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(lab::kStuckTaskExitCode), "\"spinner\"");
}

TEST(ThreadsShutdownDeathTest, TaskGroupDestructorWithStuckTaskIsNamed) {
  // threads: a TaskGroup's destructor kills and waits for its tasks; one that
  // never makes a runtime call is named and the process exits.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        lab::WorldOptions options = TestOptions(RuntimeKind::kThreads, TestSeed());
        options.shutdown_grace = absl::Milliseconds(200);
        lab::World world(options);
        (void)world.Run([] {
          lab::TaskGroup server("server-3");
          server.Go("stuck-ticker", SpinForever);
          while (!g_spinning) lab::SleepFor(absl::Milliseconds(1));
        });  // ~TaskGroup
        std::exit(0);
      },
      ::testing::ExitedWithCode(lab::kStuckTaskExitCode), "server-3.*\"stuck-ticker\"");
}

TEST(SimShutdownDeathTest, TaskThatSwallowsKillIsNamed) {
  // sim: a task that catches lab::TaskKilled and carries on yielding never
  // ends; shutdown gives up on it, names it, and says it swallowed the kill.
  // It gives up after a fixed number of scheduling steps (a million: a few
  // seconds of real time, over 10 s on a loaded machine, so no real-time
  // bound here); the busy_limit watchdog, which names it too, backs it up.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        lab::WorldOptions options = TestOptions(RuntimeKind::kSim, TestSeed());
        options.busy_limit = absl::Seconds(2);  // keeps the test short either way
        lab::World world(options);
        (void)world.Run([] {
          lab::Go("stubborn", [] {
            g_spinning = true;
            while (true) {
              try {
                lab::Yield();
              } catch (const lab::TaskKilled&) {
                // Wrong: a killed task must let TaskKilled propagate.
              }
            }
          });
          while (!g_spinning) lab::Yield();
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(lab::kStuckTaskExitCode),
      "(\"stubborn\".*TaskKilled|TaskKilled.*\"stubborn\")");
}

TEST(SimShutdownDeathTest, TaskThatYieldsForeverWhileUnwindingIsNamed) {
  // sim: a killed task whose destructor keeps yielding (it waits for
  // something that will never happen) is given a fixed number of scheduling
  // steps, then named.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        lab::World world(TestOptions(RuntimeKind::kSim, TestSeed()));
        (void)world.Run([] {
          lab::Go("lingerer", [] {
            struct WaitsForever {
              ~WaitsForever() {
                while (true) lab::Yield();
              }
            } w;
            g_spinning = true;
            lab::SleepFor(absl::Hours(1));
          });
          while (!g_spinning) lab::Yield();
        });
        std::exit(0);
      },
      ::testing::ExitedWithCode(lab::kStuckTaskExitCode),
      "scheduling steps.*\"lingerer\"");
}

// ---------------------------------------------------------------------------
// Panics and misuse

class WorldDeathTest : public lab::testing::RuntimeTest {};

TEST_P(WorldDeathTest, UncaughtExceptionAbortsNamingTheTask) {
  // An exception other than TaskKilled escaping a task is a panic: the
  // process aborts with the exception's message and the task's name.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const RuntimeKind kind = runtime();
  EXPECT_DEATH(
      {
        lab::World world(TestOptions(kind, TestSeed()));
        (void)world.Run([] {
          lab::Go("thrower", [] { throw std::runtime_error("disk on fire"); });
          lab::SleepFor(absl::Seconds(10));
        });
      },
      "disk on fire.*\"thrower\"");
}

LAB_INSTANTIATE_RUNTIME_TEST(WorldDeathTest);

TEST(OutsideWorldDeathTest, RuntimeCallsSayToRunInsideAWorld) {
  // Runtime calls need a world: outside one, the program stops and says so.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(lab::SleepFor(absl::Milliseconds(1)), "lab::SleepFor.*lab::World::Run");
  EXPECT_DEATH(lab::Go("orphan", [] {}), "lab::Go.*lab::World::Run");
  EXPECT_DEATH((void)lab::Now(), "lab::Now.*lab::World::Run");
  EXPECT_DEATH(lab::TaskGroup("orphans"), "lab::World::Run");
}

}  // namespace
