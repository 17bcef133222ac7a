// labrpc/runtime/trace_test.cc
//
// The trace recorder: the records it writes (stamped, numbered, escaped),
// state records only on change, the ring that bounds memory, the file, and
// that recording leaves a sim run's schedule exactly as it was.

#include "labrpc/runtime/trace.h"

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/log.h"
#include "labrpc/runtime/testing.h"

namespace lab::trace {
namespace {

RunInfo Info() { return RunInfo{"Trace.Test", "sim", 5, "LAB_SEED=5 bin"}; }

int Count(const std::vector<std::string>& lines, absl::string_view needle) {
  int n = 0;
  for (const std::string& l : lines) n += absl::StrContains(l, needle) ? 1 : 0;
  return n;
}

TEST(Trace, RecordsAreStampedWithRuntimeTimeAndNumberedInOrder) {
  BeginRun(Info(), Options{});
  SetPeers("raft-", 2);
  AddClient("clerk 0");
  absl::Status s = testing::RunWorld(RuntimeKind::kSim, 1, [] {
    lab::SleepFor(absl::Milliseconds(250));
    Emit("tester", Fields().Str("event", "crash").Str("peer", "raft-1"));
  });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_TRUE(EndRun(false).ok());
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "{\"kind\":\"run\",\"t\":0,\"seq\":0,\"schema\":1,\"test\":\"Trace.Test\","
            "\"runtime\":\"sim\",\"seed\":5,\"peers\":[\"raft-0\",\"raft-1\"],"
            "\"clients\":[\"clerk 0\"],\"replay\":\"LAB_SEED=5 bin\"}");
  EXPECT_EQ(lines[1],
            "{\"kind\":\"tester\",\"t\":250000,\"seq\":1,\"event\":\"crash\",\"peer\":\"raft-1\"}");
  EXPECT_EQ(lines[2], "{\"kind\":\"end\",\"t\":250000,\"seq\":2,\"passed\":false,\"dropped\":0}");
}

TEST(Trace, NothingIsRecordedWhenOff) {
  BeginRun(Info(), Options{});
  ASSERT_TRUE(EndRun(true).ok());
  EXPECT_FALSE(On());
  Emit("tester", Fields().Str("event", "crash"));
  EXPECT_EQ(Count(Lines(), "crash"), 0);
}

TEST(Trace, StringsAreEscapedAsJson) {
  EXPECT_EQ(Quote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
}

TEST(Trace, StateRecordsOnlyWhatChanged) {
  BeginRun(Info(), Options{});
  State("raft-0", StateUpdate{.term = 3, .role = "leader"});
  State("raft-0", StateUpdate{.term = 3, .role = "leader"});  // no change: nothing
  State("raft-0", StateUpdate{.term = 3, .commit = 5});
  ASSERT_TRUE(EndRun(true).ok());
  const std::vector<std::string> lines = Lines();
  ASSERT_EQ(Count(lines, "\"kind\":\"state\""), 2);
  EXPECT_TRUE(absl::StrContains(lines[1], "\"peer\":\"raft-0\",\"term\":3,\"role\":\"leader\""));
  EXPECT_TRUE(absl::StrContains(lines[2], "\"peer\":\"raft-0\",\"commit\":5}"));
  EXPECT_EQ(LastRole("raft-0"), std::make_pair(std::string("leader"), int64_t{3}));
}

TEST(Trace, RingKeepsTheLatestRpcsAndLogsButEveryOtherRecord) {
  BeginRun(Info(), Options{.path = "", .ring = 10});
  for (int i = 0; i < 100; ++i) {
    Emit("rpc", Fields().Int("id", i).Str("phase", "send"));
    if (i % 10 == 0) Emit("tester", Fields().Str("event", "phase").Int("n", i));
  }
  ASSERT_TRUE(EndRun(false).ok());
  const std::vector<std::string> lines = Lines();
  EXPECT_EQ(Count(lines, "\"kind\":\"rpc\""), 10);
  EXPECT_EQ(Count(lines, "\"kind\":\"tester\""), 10);
  EXPECT_EQ(Count(lines, "\"id\":99,"), 1);  // the newest are kept
  EXPECT_EQ(Count(lines, "\"id\":89,"), 0);
  EXPECT_TRUE(absl::StrContains(lines.back(), "\"dropped\":90"));
  // Still in order.
  int64_t last = -1;
  for (const std::string& l : lines) {
    const size_t at = l.find("\"seq\":");
    const int64_t seq = std::stoll(l.substr(at + 6));
    EXPECT_GT(seq, last) << l;
    last = seq;
  }
}

TEST(Trace, EndRunWritesTheFileAndAFailingRunIsNotOverwritten) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/trace_test.jsonl");
  BeginRun(Info(), Options{.path = path});
  Emit("failure", Fields().Str("text", "boom"));
  ASSERT_TRUE(EndRun(false).ok());
  BeginRun(Info(), Options{.path = path});  // a later test of the same binary passes
  ASSERT_TRUE(EndRun(true).ok());
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(absl::StrContains(all, "boom"));
  EXPECT_TRUE(absl::StrContains(all, "\"passed\":false"));
}

TEST(Trace, OptionsFromEnvNamesTheFileAfterTheTest) {
  setenv("LAB_TRACE", "/tmp/x-{test}.jsonl", 1);
  setenv("LAB_TRACE_RING", "1000", 1);
  absl::StatusOr<Options> o = OptionsFromEnv("Raft2A.ReElection");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->path, "/tmp/x-Raft2A.ReElection.jsonl");
  EXPECT_EQ(o->ring, 1000);
  setenv("LAB_TRACE_RING", "lots", 1);
  o = OptionsFromEnv("T");
  ASSERT_FALSE(o.ok());
  EXPECT_TRUE(absl::StrContains(o.status().message(), "LAB_TRACE_RING=\"lots\""));
  unsetenv("LAB_TRACE");
  unsetenv("LAB_TRACE_RING");
}

// A busy little world: tasks that sleep random times, log, take a mutex and
// pass messages, with trace hooks on the way.
void Busy() {
  Mutex mu;
  Chan<int> ch(4);
  int sum = 0;
  TaskGroup peers("raft-0");
  for (int i = 0; i < 5; ++i) {
    peers.Go(absl::StrCat("worker ", i), [&, i] {
      for (int k = 0; k < 50; ++k) {
        lab::SleepFor(absl::Microseconds(RandInt(0, 3000)));
        LAB_LOG(WORK, "worker %d step %d", i, k);
        if (On()) Emit("rpc", Fields().Int("id", NewId()).Str("phase", "send"));
        MutexLock l(&mu);
        sum += k;
      }
      ch.Send(i);
    });
  }
  for (int i = 0; i < 5; ++i) ch.Recv();
}

TEST(Trace, RecordingLeavesTheSimScheduleUnchanged) {
  for (uint64_t seed : {1, 2, 3}) {
    uint64_t off = 0, on = 0;
    ASSERT_TRUE(testing::RunWorld(RuntimeKind::kSim, seed, Busy, &off).ok());
    BeginRun(Info(), Options{});
    ASSERT_TRUE(testing::RunWorld(RuntimeKind::kSim, seed, Busy, &on).ok());
    ASSERT_TRUE(EndRun(true).ok());
    EXPECT_EQ(Count(Lines(), "\"kind\":\"log\""), 250);  // it did record
    EXPECT_NE(off, 0u);
    EXPECT_EQ(on, off) << "seed " << seed;
  }
}

}  // namespace
}  // namespace lab::trace
