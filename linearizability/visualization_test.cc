// linearizability/visualization_test.cc
//
// Tests of the HTML page on a hand-made result: escaping, partition order,
// what each bar is marked as, the fault lines, the stuck-point table, and
// that a pending call is drawn to the end of the timeline.

#include "linearizability/visualization.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "linearizability/checker.h"
#include "linearizability/verdict.h"

namespace linearizability {
namespace {

absl::Time T(int ms) { return absl::UnixEpoch() + absl::Milliseconds(ms); }

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(HtmlEscape, EscapesMarkupCharacters) {
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(HtmlEscape("plain text"), "plain text");
}

class VisualizationTest : public ::testing::Test {
 protected:
  VisualizationTest() {
    // Partition 0 (ok): op 0. Partition 1 (illegal): ops 1-4; op 1 is
    // linearized, op 2 returned first and is impossible, op 3 could come
    // next but leads nowhere, op 4 never returned.
    ops_ = {{.client = 0, .call = T(0), .ret = T(5), .label = "Put(\"ok\")"},
            {.client = 0, .call = T(0), .ret = T(10), .label = "Put(\"a\")"},
            {.client = 1, .call = T(20), .ret = T(30), .label = "Get() -> \"<b>\""},
            {.client = 2, .call = T(15), .ret = T(40), .label = "Put(\"c\")"},
            {.client = 3, .call = T(25), .ret = absl::InfiniteFuture(), .label = "Append(\"d\")"}};
    PartitionResult ok;
    ok.ops = {0};
    PartitionResult bad;
    bad.verdict = Verdict::kIllegal;
    bad.ops = {1, 2, 3, 4};
    bad.initial_state = "\"\"";
    bad.linearization = {{.op = 1, .state_after = "\"a\""}};
    bad.stuck_on = 2;
    bad.candidates = {{.op = 2, .applies = false, .note = "the value is \"a\""},
                      {.op = 3, .applies = true, .note = "\"c\""}};
    result_.verdict = Verdict::kIllegal;
    result_.partitions = {ok, bad};
  }

  std::string Render() {
    return RenderHtml({.title = "T<1>",
                       .operations = ops_,
                       .partition_names = {"key \"ok\"", "key \"bad\""},
                       .result = &result_,
                       .events = {{.time = T(12), .description = "crash 1"}}});
  }

  std::vector<VisualOperation> ops_;
  CheckResult result_;
};

TEST_F(VisualizationTest, IllegalPartitionsComeFirst) {
  const std::string html = Render();
  const size_t bad = html.find("<h2 id=\"p1\">");
  const size_t ok = html.find("<h2 id=\"p0\">");
  ASSERT_NE(bad, std::string::npos);
  ASSERT_NE(ok, std::string::npos);
  EXPECT_LT(bad, ok);
  EXPECT_NE(html.find("<title>T&lt;1&gt;</title>"), std::string::npos);
}

TEST_F(VisualizationTest, BarsAreMarkedByTheirRoleInTheSearch) {
  const std::string html = Render();
  // Op 1 is #1 of the linearization and links to its row.
  EXPECT_NE(html.find("class=\"op lin\""), std::string::npos);
  EXPECT_NE(html.find("href=\"#p1-s1\""), std::string::npos);
  EXPECT_NE(html.find(">#1 Put(&quot;a&quot;)</a>"), std::string::npos);
  EXPECT_NE(html.find("<tr id=\"p1-s1\">"), std::string::npos);
  // Op 2 returned first and is impossible; op 3 is a dead end; op 4 pending.
  EXPECT_NE(html.find("class=\"op bad first\""), std::string::npos);
  EXPECT_NE(html.find("class=\"op dead\""), std::string::npos);
  EXPECT_NE(html.find("class=\"op rest pending\""), std::string::npos);
  // The stuck table explains both candidates.
  EXPECT_NE(html.find("impossible here: the value is &quot;a&quot;"), std::string::npos);
  EXPECT_NE(html.find("it could (the state would become &quot;c&quot;)"), std::string::npos);
  EXPECT_NE(html.find("Get() -&gt; &quot;&lt;b&gt;&quot;"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
}

TEST_F(VisualizationTest, FaultsAreDrawnOnEveryTimeline) {
  const std::string html = Render();
  // One line per partition's timeline, plus the fault table.
  EXPECT_EQ(Count(html, "<span>crash 1</span>"), 2u);
  EXPECT_NE(html.find("<td>crash 1</td>"), std::string::npos);
  EXPECT_NE(html.find("title=\"12ms: crash 1\""), std::string::npos);  // relative to the first call
}

TEST_F(VisualizationTest, PendingCallReachesTheEndOfTheTimeline) {
  const std::string html = Render();
  // Partition 1's columns: 0, 10, 12 (fault), 15, 20, 25, 30, 40 -> 8; the
  // pending Append starts at column 5 (25ms) and runs to column 8, "never".
  EXPECT_NE(html.find("style=\"--a:5;--w:4;"), std::string::npos) << html;
  EXPECT_NE(html.find("returned never"), std::string::npos);
}

TEST_F(VisualizationTest, ADoomedReadIsNamedAndMarked) {
  // A Get called after the stuck point that the lookahead found impossible.
  ops_.push_back({.client = 4, .call = T(50), .ret = T(60), .label = "Get() -> \"zz\""});
  result_.partitions[1].ops.push_back(5);
  result_.partitions[1].doomed = 5;
  result_.partitions[1].doomed_note = "the value is \"a\"";
  const std::string html = Render();
  EXPECT_NE(html.find("<p id=\"p1-doomed\""), std::string::npos);
  EXPECT_NE(html.find("<code>Get() -&gt; &quot;zz&quot;</code> by client 4 (called at 50ms, "
                      "returned at 60ms) can "
                      "never be linearized"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("Here: the value is &quot;a&quot;.</p>"), std::string::npos);
  EXPECT_NE(html.find("class=\"op bad\" style=\"--a:8;--w:2;"), std::string::npos) << html;
  EXPECT_NE(html.find("href=\"#p1-doomed\""), std::string::npos);
}

}  // namespace
}  // namespace linearizability
