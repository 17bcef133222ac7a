// labrpc/runtime/log_test.cc
//
// LAB_LOG: which topics LAB_LOG turns on (and what a bad value says), the
// line's layout, and that each line names the calling task's peer (its
// group) and task, and the runtime time.

#include "labrpc/runtime/log.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "labrpc/runtime/lab.h"
#include "labrpc/runtime/testing.h"
#include "labrpc/runtime/trace.h"

namespace lab {
namespace {

TEST(LogTopics, ListedTopicsAreOnOthersOff) {
  absl::StatusOr<LogTopics> t = ParseLogTopics("VOTE,lead");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->Prints("VOTE"));
  EXPECT_TRUE(t->Prints("LEAD"));  // case-insensitive
  EXPECT_FALSE(t->Prints("TIMER"));
}

TEST(LogTopics, AllWithExceptions) {
  absl::StatusOr<LogTopics> t = ParseLogTopics("all, -TIMER");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->Prints("VOTE"));
  EXPECT_TRUE(t->Prints("MY_OWN_TOPIC"));
  EXPECT_FALSE(t->Prints("TIMER"));
}

TEST(LogTopics, EmptyValuePrintsNothing) {
  absl::StatusOr<LogTopics> t = ParseLogTopics("");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->Prints("VOTE"));
}

TEST(LogTopics, BadValueSaysWhatIsWrongAndHowToWriteIt) {
  for (const char* bad : {"VOTE;LEAD", "VOTE,,LEAD", "vote lead", "-"}) {
    absl::StatusOr<LogTopics> t = ParseLogTopics(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_TRUE(absl::StrContains(t.status().message(), "is not a topic")) << t.status();
    EXPECT_TRUE(absl::StrContains(t.status().message(), "LAB_LOG=VOTE,LEAD")) << t.status();
  }
}

TEST(LogFormat, LineLinesUpTimePeerTopicTaskAndText) {
  EXPECT_EQ(log_internal::FormatLine(2417003, "raft-2", "RequestVote", "VOTE", "granted"),
            "   2.417 raft-2   VOTE    RequestVote      granted\n");
  EXPECT_EQ(log_internal::FormatLine(65000, "raft-10", "ticker", "TIMER", "x"),
            "   0.065 raft-10  TIMER   ticker           x\n");
}

// Runs `body` in a sim world with `topics` printed; returns what went to
// stderr.
std::string StderrOf(const char* topics, std::function<void()> body) {
  EXPECT_TRUE(SetLogTopics(topics).ok());
  ::testing::internal::CaptureStderr();
  absl::Status s = testing::RunWorld(RuntimeKind::kSim, 1, std::move(body));
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(SetLogTopics("").ok());
  return err;
}

TEST(LabLog, NamesThePeerByItsGroupAndTheTaskAndTheTime) {
  const std::string err = StderrOf("VOTE", [] {
    TaskGroup peer("raft-1");
    peer.Go("ticker", [] {
      lab::SleepFor(absl::Milliseconds(1500));
      LAB_LOG(VOTE, "voted for %d in term %d", 2, 7);
    });
    lab::SleepFor(absl::Seconds(2));
  });
  EXPECT_EQ(err, "   1.500 raft-1   VOTE    ticker           voted for 2 in term 7\n");
}

TEST(LabLog, PrintsOnlyTheTopicsTurnedOn) {
  const std::string err = StderrOf("LEAD", [] {
    LAB_LOG(VOTE, "not printed %d", 1);
    LAB_LOG(LEAD, "printed %s", "yes");
  });
  EXPECT_FALSE(absl::StrContains(err, "not printed"));
  EXPECT_TRUE(absl::StrContains(err, "printed yes"));
  EXPECT_TRUE(absl::StrContains(err, "main "));  // the world's main task
}

TEST(LabLog, OffFormatsNothing) {
  int formatted = 0;
  // An argument whose formatting counts itself.
  auto arg = [&] {
    ++formatted;
    return 1;
  };
  StderrOf("", [&] { LAB_LOG(VOTE, "%d", arg()); });
  EXPECT_EQ(formatted, 0);
  StderrOf("VOTE", [&] { LAB_LOG(VOTE, "%d", arg()); });
  EXPECT_EQ(formatted, 1);
}

TEST(LabLog, WhileTracingEveryTopicIsRecordedButOnlyChosenOnesPrinted) {
  trace::BeginRun(trace::RunInfo{"LabLog.Trace", "sim", 1, ""}, trace::Options{});
  const std::string err = StderrOf("LEAD", [] {
    TaskGroup peer("raft-0");
    peer.Go("ticker", [] { LAB_LOG(VOTE, "a vote"); });
    peer.Go("elect", [] { LAB_LOG(LEAD, "a leader"); });
    lab::SleepFor(absl::Milliseconds(10));
  });
  ASSERT_TRUE(trace::EndRun(true).ok());
  EXPECT_FALSE(absl::StrContains(err, "a vote"));
  EXPECT_TRUE(absl::StrContains(err, "a leader"));
  int logs = 0;
  for (const std::string& line : trace::Lines()) {
    if (!absl::StrContains(line, "\"kind\":\"log\"")) continue;
    ++logs;
    EXPECT_TRUE(absl::StrContains(line, "\"peer\":\"raft-0\"")) << line;
    EXPECT_TRUE(absl::StrContains(line, "\"task\":\"ticker\"") ||
                absl::StrContains(line, "\"task\":\"elect\""))
        << line;
  }
  EXPECT_EQ(logs, 2);
}

TEST(LabLog, TopicMayBeAStringLiteral) {
  const std::string err = StderrOf("MY_TOPIC", [] { LAB_LOG("MY_TOPIC", "x=%d", 3); });
  EXPECT_TRUE(absl::StrContains(err, "MY_TOPIC main             x=3")) << err;
}

}  // namespace
}  // namespace lab
