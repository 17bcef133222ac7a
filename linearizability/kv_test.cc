// linearizability/kv_test.cc
//
// Tests of CheckKvHistory on hand-built histories of Lab 3 clerk calls, legal
// and illegal: sequential and concurrent calls, stale reads, appends in an
// order real time forbids, several keys, calls that never returned, a
// history too expensive for its budget, malformed histories, the HTML page;
// and random legal histories (and corrupted ones) from random_history.h.
// Times are milliseconds from an arbitrary origin; kNever is "never returned".

#include "linearizability/kv.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "linearizability/random_history.h"
#include "linearizability/verdict.h"
#include "linearizability/visualization.h"

namespace linearizability {
namespace {

constexpr int kNever = -1;

absl::Time T(int ms) {
  return ms == kNever ? absl::InfiniteFuture() : absl::UnixEpoch() + absl::Milliseconds(ms);
}

KvOperation Get(int client, const std::string& key, const std::string& output, int call, int ret) {
  return {.client = client,
          .op = KvOp::kGet,
          .key = key,
          .value = "",
          .output = output,
          .call = T(call),
          .ret = T(ret)};
}
KvOperation Put(int client, const std::string& key, const std::string& value, int call, int ret) {
  return {.client = client,
          .op = KvOp::kPut,
          .key = key,
          .value = value,
          .output = "",
          .call = T(call),
          .ret = T(ret)};
}
KvOperation Append(int client, const std::string& key, const std::string& value, int call,
                   int ret) {
  return {.client = client,
          .op = KvOp::kAppend,
          .key = key,
          .value = value,
          .output = "",
          .call = T(call),
          .ret = T(ret)};
}

Verdict Check(const std::vector<KvOperation>& history) {
  return CheckKvHistory(history, {}).verdict;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool FileExists(const std::string& path) { return std::ifstream(path).good(); }

TEST(KvCheck, EmptyHistoryIsOk) {
  const KvCheckResult r = CheckKvHistory({}, {});
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_NE(r.summary.find("ok: 0 operations"), std::string::npos) << r.summary;
  EXPECT_TRUE(r.illegal_keys.empty());
}

TEST(KvCheck, SequentialHistory) {
  std::vector<KvOperation> h = {Put(0, "k", "a", 0, 10),    Append(1, "k", "b", 20, 30),
                                Get(0, "k", "ab", 40, 50),  Append(2, "k", "c", 60, 70),
                                Get(1, "k", "abc", 80, 90), Put(2, "k", "z", 100, 110),
                                Get(0, "k", "z", 120, 130)};
  EXPECT_EQ(Check(h), Verdict::kOk);
  // Any wrong value makes it illegal.
  h[4].output = "acb";
  EXPECT_EQ(Check(h), Verdict::kIllegal);
  h[4].output = "abc";
  h[6].output = "abcz";
  EXPECT_EQ(Check(h), Verdict::kIllegal);
}

TEST(KvCheck, GetOfAbsentKeyReturnsEmpty) {
  EXPECT_EQ(Check({Get(0, "k", "", 0, 10)}), Verdict::kOk);
  EXPECT_EQ(Check({Get(0, "k", "x", 0, 10)}), Verdict::kIllegal);
  // Writes to another key do not count.
  EXPECT_EQ(Check({Put(0, "other", "x", 0, 10), Get(1, "k", "", 20, 30)}), Verdict::kOk);
}

TEST(KvCheck, ConcurrentWritesInEitherOrder) {
  // Two concurrent Puts; a later Get may see either, not anything else.
  for (const std::string seen : {"a", "b"}) {
    EXPECT_EQ(Check({Put(0, "k", "a", 0, 10), Put(1, "k", "b", 0, 10), Get(2, "k", seen, 20, 30)}),
              Verdict::kOk)
        << seen;
  }
  EXPECT_EQ(Check({Put(0, "k", "a", 0, 10), Put(1, "k", "b", 0, 10), Get(2, "k", "ab", 20, 30)}),
            Verdict::kIllegal);
  // Concurrent appends: either order, but both.
  EXPECT_EQ(
      Check({Append(0, "k", "x", 0, 10), Append(1, "k", "y", 0, 10), Get(2, "k", "yx", 20, 30)}),
      Verdict::kOk);
  EXPECT_EQ(
      Check({Append(0, "k", "x", 0, 10), Append(1, "k", "y", 0, 10), Get(2, "k", "x", 20, 30)}),
      Verdict::kIllegal);
}

TEST(KvCheck, OnlySomeOrdersWork) {
  // Put 1 and Put 2 overlap; a Get inside them sees 1 and a Get after them
  // sees 2: only Put 1, Get, Put 2, Get explains it.
  EXPECT_EQ(Check({Put(0, "k", "1", 0, 10), Put(1, "k", "2", 0, 10), Get(2, "k", "1", 5, 15),
                   Get(2, "k", "2", 20, 30)}),
            Verdict::kOk);
  // Once both Puts have returned the value is settled: two later Gets
  // cannot disagree.
  EXPECT_EQ(Check({Put(0, "k", "1", 0, 10), Put(1, "k", "2", 0, 10), Get(2, "k", "1", 12, 15),
                   Get(2, "k", "2", 20, 30)}),
            Verdict::kIllegal);
}

TEST(KvCheck, GetMaySeeAnOverlappingWrite) {
  // The Get overlaps the Put: it may see the value before or after it.
  EXPECT_EQ(Check({Put(0, "k", "a", 0, 10), Get(1, "k", "a", 5, 6)}), Verdict::kOk);
  EXPECT_EQ(Check({Put(0, "k", "a", 0, 10), Get(1, "k", "", 5, 6)}), Verdict::kOk);
  // A Get starting at the instant the Put returns still overlaps it.
  EXPECT_EQ(Check({Put(0, "k", "a", 0, 10), Get(1, "k", "", 10, 20)}), Verdict::kOk);
  EXPECT_EQ(Check({Put(0, "k", "a", 0, 10), Get(1, "k", "", 11, 20)}), Verdict::kIllegal);
}

TEST(KvCheck, StaleReadAfterCompletedWriteIsIllegal) {
  const KvCheckResult r = CheckKvHistory(
      {Put(0, "k", "a", 0, 10), Put(0, "k", "b", 20, 30), Get(1, "k", "a", 40, 50)}, {});
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  // The summary names the key, the stuck Get and why.
  EXPECT_NE(r.summary.find("key \"k\""), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("Get() -> \"a\""), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("the value is \"b\""), std::string::npos) << r.summary;
}

TEST(KvCheck, AppendsInAnOrderRealTimeForbidsAreIllegal) {
  // Append x returned before Append y was called, so x comes first.
  EXPECT_EQ(
      Check({Append(0, "k", "x", 0, 10), Append(1, "k", "y", 20, 30), Get(2, "k", "xy", 40, 50)}),
      Verdict::kOk);
  EXPECT_EQ(
      Check({Append(0, "k", "x", 0, 10), Append(1, "k", "y", 20, 30), Get(2, "k", "yx", 40, 50)}),
      Verdict::kIllegal);
}

TEST(KvCheck, OnlyTheBadKeyIsReported) {
  const std::vector<KvOperation> h = {Put(0, "good", "1", 0, 10),  Get(1, "good", "1", 20, 30),
                                      Put(0, "bad", "1", 0, 10),   Put(0, "bad", "2", 40, 50),
                                      Get(1, "bad", "1", 60, 70),  Append(2, "good", "2", 40, 50),
                                      Get(2, "good", "12", 60, 70)};
  const KvCheckResult r = CheckKvHistory(h, {});
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_EQ(r.illegal_keys, std::vector<std::string>{"bad"});
  EXPECT_NE(r.summary.find("\"bad\""), std::string::npos) << r.summary;
  EXPECT_EQ(r.summary.find("\"good\""), std::string::npos) << r.summary;
}

TEST(KvCheck, PendingCallsMayOrMayNotTakeEffect) {
  // A Put that never returned and whose effect is seen.
  EXPECT_EQ(
      Check({Put(0, "k", "a", 0, kNever), Get(1, "k", "a", 10, 20), Get(1, "k", "a", 30, 40)}),
      Verdict::kOk);
  // ... and one whose effect is never seen.
  EXPECT_EQ(Check({Put(0, "k", "a", 0, kNever), Get(1, "k", "", 10, 20), Get(1, "k", "", 30, 40)}),
            Verdict::kOk);
  // A pending Append seen late, after Gets that did not see it.
  EXPECT_EQ(Check({Put(1, "k", "a", 0, 5), Append(0, "k", "b", 10, kNever),
                   Get(1, "k", "a", 20, 30), Get(1, "k", "ab", 40, 50)}),
            Verdict::kOk);
  // A pending Get: its output is unknown, anything goes.
  EXPECT_EQ(Check({Put(0, "k", "a", 0, 10), Get(1, "k", "garbage", 20, kNever),
                   Get(0, "k", "a", 30, 40)}),
            Verdict::kOk);
}

TEST(KvCheck, PendingCallsStillObeyTheRules) {
  // Once seen, a pending Put's effect cannot disappear.
  EXPECT_EQ(Check({Put(0, "k", "a", 0, kNever), Get(1, "k", "a", 10, 20), Get(1, "k", "", 30, 40)}),
            Verdict::kIllegal);
  // It cannot be seen before it was called.
  EXPECT_EQ(Check({Get(1, "k", "a", 0, 5), Put(0, "k", "a", 10, kNever)}), Verdict::kIllegal);
}

TEST(KvCheck, ExhaustiveSearchOverConcurrentAppends) {
  // Seven concurrent Appends and a Get that saw them in an order with one
  // missing: proving it illegal means trying every order (7! of them).
  std::vector<KvOperation> h;
  std::string seen;
  for (int c = 0; c < 7; ++c) {
    h.push_back(Append(c, "k", absl::StrCat("x ", c, " y"), 0, 100));
    if (c != 3) seen += absl::StrCat("x ", c, " y");
  }
  h.push_back(Get(7, "k", seen, 200, 210));
  EXPECT_EQ(Check(h), Verdict::kIllegal);
  // With the missing one seen last, it is fine.
  h.back().output = seen + "x 3 y";
  EXPECT_EQ(Check(h), Verdict::kOk);
}

TEST(KvCheck, LookaheadCutsTheSearchOverConcurrentAppends) {
  // Twelve concurrent Appends and a Get that saw none of them: 12! orders
  // for a plain search, but no order's first Append is a prefix of what the
  // Get returned, so each is abandoned at once.
  std::vector<KvOperation> h;
  for (int c = 0; c < 12; ++c) h.push_back(Append(c, "k", absl::StrCat("x ", c, " y"), 0, 100));
  h.push_back(Get(12, "k", std::string(12 * 5, '?'), 200, 210));
  const KvCheckResult r = CheckKvHistory(h, {.budget = absl::Seconds(5)});
  EXPECT_EQ(r.verdict, Verdict::kIllegal) << r.summary;
}

TEST(KvCheck, ExpensiveHistoryWithTinyBudgetIsUnknown) {
  // Fifteen clients hammering one key with Gets, Puts and Appends: about
  // fourteen calls in flight at any time, which takes the search seconds.
  const std::vector<KvOperation> h =
      RandomLegalHistory({.operations = 2000, .clients = 15, .keys = 1, .seed = 1});
  const absl::Time start = absl::Now();
  const KvCheckResult r = CheckKvHistory(h, {.budget = absl::Milliseconds(10)});
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.verdict, Verdict::kUnknown) << r.summary;
  EXPECT_NE(r.summary.find("timed out"), std::string::npos) << r.summary;
  EXPECT_LT(took, absl::Seconds(2));  // the budget is honoured
}

TEST(KvCheck, MalformedHistoryIsReportedNotChecked) {
  const KvCheckResult r = CheckKvHistory({Put(0, "k", "a", 10, 5)}, {});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_EQ(r.summary.rfind("invalid history", 0), 0u) << r.summary;
}

class KvCheckHtml : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) {
    return absl::StrCat(::testing::TempDir(), "/", name);
  }
};

TEST_F(KvCheckHtml, WrittenOnIllegal) {
  const std::string path = Path("illegal.html");
  std::remove(path.c_str());
  // A stale read on a key whose name and values need escaping; another key is fine.
  const std::vector<KvOperation> h = {Put(0, "k<&>", "<script>alert(1)</script>", 0, 10),
                                      Put(0, "k<&>", "b", 20, 30),
                                      Get(1, "k<&>", "<script>alert(1)</script>", 40, 50),
                                      Append(2, "fine", "x", 0, 10), Get(2, "fine", "x", 20, 30)};
  const KvCheckResult r = CheckKvHistory(h, {.visualization_path = path,
                                             .title = "TestHtml\"3A\"",
                                             .events = {{T(15), "partition <0 1> | 2"}}});
  ASSERT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_EQ(r.visualization_path, path);
  ASSERT_TRUE(FileExists(path));
  const std::string html = ReadFile(path);
  EXPECT_NE(html.find("TestHtml&quot;3A&quot;"), std::string::npos);          // the title
  EXPECT_NE(html.find("key &quot;k&lt;&amp;&gt;&quot;"), std::string::npos);  // the key
  EXPECT_NE(html.find("key &quot;fine&quot;"), std::string::npos);            // the ok key too
  EXPECT_LT(html.find("key &quot;k&lt;&amp;&gt;&quot;"),
            html.find("key &quot;fine&quot;"));  // bad first
  // The failing Get, escaped, marked as impossible; and the value it should have seen.
  EXPECT_NE(html.find("Get() -&gt; &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;"),
            std::string::npos);
  EXPECT_NE(html.find("class=\"op bad first\""), std::string::npos);
  EXPECT_NE(html.find("impossible here: the value is &quot;b&quot;"), std::string::npos);
  // The fault, on the timeline.
  EXPECT_NE(html.find("<span>partition &lt;0 1&gt; | 2</span>"), std::string::npos);
  // No raw markup from the history.
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("k<&>"), std::string::npos);
}

TEST_F(KvCheckHtml, NotWrittenOnOk) {
  const std::string path = Path("ok.html");
  std::remove(path.c_str());
  const KvCheckResult r = CheckKvHistory({Put(0, "k", "a", 0, 10), Get(1, "k", "a", 20, 30)},
                                         {.visualization_path = path});
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_TRUE(r.visualization_path.empty());
  EXPECT_FALSE(FileExists(path));
}

// A broken service (a clerk that does nothing) produces histories of
// hundreds of thousands of operations, all illegal: the page must stay a few
// MB (the grader caps a run's files), still naming where each key is stuck.
TEST_F(KvCheckHtml, HugeIllegalHistoryGivesABoundedPage) {
  const std::string path = Path("huge.html");
  std::remove(path.c_str());
  std::vector<KvOperation> h;
  int t = 0;
  for (int i = 0; i < 8000; ++i) {
    for (int k = 0; k < 15; ++k) {
      const std::string key = std::to_string(k);
      h.push_back(Append(k, key, absl::StrCat("x ", k, " ", i, " y"), t, t + 1));
      t += 2;
    }
  }
  for (int k = 0; k < 15; ++k) h.push_back(Get(k, std::to_string(k), "", t, t + 1));  // lost all
  const KvCheckResult r =
      CheckKvHistory(h, {.budget = absl::Seconds(30), .visualization_path = path});
  ASSERT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_EQ(r.illegal_keys.size(), 15u);
  const std::string html = ReadFile(path);
  EXPECT_LT(html.size(), 16u << 20) << "the page is " << html.size() << " bytes";
  EXPECT_NE(html.find("left out"), std::string::npos);
  // Every key still says where it is stuck.
  size_t stuck = 0;
  for (size_t at = html.find("Where it is stuck"); at != std::string::npos;
       at = html.find("Where it is stuck", at + 1)) {
    ++stuck;
  }
  EXPECT_EQ(stuck, 15u);
}

TEST_F(KvCheckHtml, WriteFailureIsReportedInTheSummary) {
  const KvCheckResult r = CheckKvHistory({Put(0, "k", "a", 0, 10), Get(1, "k", "", 20, 30)},
                                         {.visualization_path = "/nonexistent-dir/x/page.html"});
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_TRUE(r.visualization_path.empty());
  EXPECT_NE(r.summary.find("visualization not written: cannot open /nonexistent-dir/x/page.html"),
            std::string::npos)
      << r.summary;
}

TEST(KvCheckRandom, LegalHistoriesAreOk) {
  const RandomHistoryOptions cases[] = {
      {.operations = 2000, .clients = 5, .keys = 1, .seed = 1},
      {.operations = 3000, .clients = 15, .keys = 10, .seed = 2},
      {.operations = 2000,
       .clients = 10,
       .keys = 3,
       .get_percent = 30,
       .put_percent = 0,
       .seed = 3},  // appends
      {.operations = 1000, .clients = 10, .keys = 2, .pending = true, .seed = 4},
      {.operations = 1000,
       .clients = 5,
       .keys = 1,
       .max_latency = absl::Milliseconds(2),
       .max_think = absl::ZeroDuration(),
       .seed = 5},  // always 5 in flight, some ties
  };
  for (const RandomHistoryOptions& options : cases) {
    const std::vector<KvOperation> h = RandomLegalHistory(options);
    ASSERT_EQ(h.size(), static_cast<size_t>(options.operations));
    const KvCheckResult r = CheckKvHistory(h, {.budget = absl::Seconds(20)});
    EXPECT_EQ(r.verdict, Verdict::kOk) << "seed " << options.seed << ": " << r.summary;
    std::cout << "seed " << options.seed << ": " << r.summary << "\n";
  }
}

TEST(KvCheckRandom, ACorruptedGetIsIllegal) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    std::vector<KvOperation> h =
        RandomLegalHistory({.operations = 1000, .clients = 10, .keys = 4, .seed = seed});
    // Corrupt the output of a completed Get in the middle: a value no one wrote.
    size_t victim = h.size() / 2;
    while (h[victim].op != KvOp::kGet) ++victim;
    h[victim].output += "corrupt";
    const KvCheckResult r = CheckKvHistory(h, {.budget = absl::Seconds(20)});
    EXPECT_EQ(r.verdict, Verdict::kIllegal) << "seed " << seed;
    EXPECT_EQ(r.illegal_keys, std::vector<std::string>{h[victim].key}) << "seed " << seed;
  }
}

TEST(KvCheckRandom, LongAppendedValues) {
  // One key, 3 clients appending and reading concurrently for 6000 calls:
  // values grow to tens of kilobytes.
  const std::vector<KvOperation> h = RandomLegalHistory({.operations = 6000,
                                                         .clients = 3,
                                                         .keys = 1,
                                                         .get_percent = 20,
                                                         .put_percent = 0,
                                                         .seed = 7});
  size_t longest = 0;
  for (const KvOperation& op : h) longest = std::max(longest, op.output.size());
  ASSERT_GT(longest, 20000u);
  const KvCheckResult r = CheckKvHistory(h, {.budget = absl::Seconds(20)});
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.summary;
}

TEST(KvCheckRandom, LostAppendInALongValueIsPinpointed) {
  // 4000 appends one after another, a Get after every 100; the last Get
  // lost an append in the middle. The summary says where the values part.
  std::vector<KvOperation> h;
  std::string value;
  int t = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string piece = absl::StrCat("x ", i % 3, " ", i, " y");
    h.push_back(Append(i % 3, "k", piece, t, t + 1));
    value += piece;
    t += 2;
    if (i % 100 == 99) {
      h.push_back(Get(3, "k", value, t, t + 1));
      t += 2;
    }
  }
  std::string& seen = h.back().output;
  const std::string lost = "x 2 2000 y";
  const size_t at = seen.find(lost);
  ASSERT_NE(at, std::string::npos);
  seen.erase(at, lost.size());
  size_t differ = 0;
  while (seen[differ] == value[differ]) ++differ;
  const KvCheckResult r = CheckKvHistory(h, {});
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_NE(r.summary.find(absl::StrCat("first differ at byte ", differ, ":")), std::string::npos)
      << r.summary;
}

}  // namespace
}  // namespace linearizability
