// linearizability/visualization.cc

#include "linearizability/visualization.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "linearizability/checker.h"
#include "linearizability/verdict.h"

namespace linearizability {
namespace {

constexpr int kRowPx = 24;    // one lane of a client's row
constexpr int kBandPx = 150;  // above the rows: the fault labels
// Operations drawn at most, over the whole page, failing partitions first
// (beyond that the page gets slow to open, and a broken service's history
// can hold hundreds of thousands of operations).
constexpr size_t kMaxOperationsDrawn = 20000;
// The partial linearization table shows at most this many steps (the last
// ones, next to where the search is stuck).
constexpr size_t kMaxLinearizationRows = 2000;

constexpr char kStyle[] = R"css(
body { font-family: sans-serif; font-size: 14px; margin: 16px; color: #222; }
h1 { font-size: 20px; }
h2 { font-size: 17px; margin-top: 32px; border-top: 2px solid #888; padding-top: 8px; }
h3 { font-size: 15px; }
code, td.op, td.state { font-family: monospace; }
.verdict-illegal { color: #b00; font-weight: bold; }
.verdict-unknown { color: #a60; font-weight: bold; }
.verdict-ok { color: #070; font-weight: bold; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 2px 6px; vertical-align: top; }
th { background: #eee; text-align: left; }
td.op, td.state { white-space: pre-wrap; word-break: break-all; max-width: 60em; }
.scroll { max-height: 420px; overflow: auto; border: 1px solid #ccc; display: inline-block;
  max-width: 100%; }
.timeline { display: flex; border: 1px solid #bbb; background: #fafafa; }
.names { position: relative; flex: none; width: 84px; border-right: 1px solid #bbb;
  background: #f0f0f0; }
.name { position: absolute; left: 4px; font-size: 12px; line-height: 22px; }
.scroller { overflow-x: auto; flex: auto; }
.canvas { position: relative; }
.op { position: absolute; height: 20px; box-sizing: border-box;
  left: calc(var(--a) * var(--slot)); width: calc(var(--w) * var(--slot) - 3px);
  overflow: hidden; white-space: nowrap; text-overflow: ellipsis; font: 11px/18px monospace;
  padding: 0 3px; border: 1px solid #567; border-radius: 3px; background: #d5e3f5; color: #123;
  text-decoration: none; }
.op.lin { background: #cdeccd; border-color: #393; }
.op.bad { background: #f7c6c6; border-color: #c00; }
.op.dead { background: #fbe2b8; border-color: #c80; }
.op.rest { background: #e4e4e4; border-color: #999; color: #555; }
.op.first { border-width: 3px; line-height: 14px; }
.op.pending { border-right-style: dashed; border-right-width: 3px; }
.op:hover { outline: 2px solid #000; z-index: 5; }
.ev, .stuck { position: absolute; top: 0; bottom: 0; z-index: 2;
  left: calc(var(--a) * var(--slot) + var(--slot) / 2); border-left: 2px dashed #a0a; }
.stuck { border-left: 3px solid #c00; }
.ev span, .stuck span { position: absolute; bottom: calc(100% - 146px); left: 2px;
  writing-mode: vertical-rl; transform: rotate(180deg); font-size: 11px; max-height: 140px;
  overflow: hidden; white-space: nowrap; text-overflow: ellipsis; color: #a0a;
  background: rgba(250, 250, 250, 0.85); }
.stuck span { color: #c00; font-weight: bold; }
.legend span { display: inline-block; padding: 0 6px; margin-right: 6px; border: 1px solid;
  border-radius: 3px; font-size: 12px; }
tr.bad td { background: #fbe0e0; }
tr.dead td { background: #fdf0d8; }
tr.first td:first-child { font-weight: bold; }
tr:target td { outline: 2px solid #00c; }
.note { color: #555; }
)css";

constexpr char kScript[] = R"js(
function zoom(id, factor) {
  var c = document.getElementById(id);
  var slot = parseFloat(c.style.getPropertyValue('--slot')) * factor;
  c.style.setProperty('--slot', Math.max(3, Math.min(200, slot)) + 'px');
}
window.addEventListener('load', function () {
  document.querySelectorAll('.scroll').forEach(function (e) { e.scrollTop = e.scrollHeight; });
  document.querySelectorAll('.canvas[data-focus]').forEach(function (c) {
    var slot = parseFloat(c.style.getPropertyValue('--slot'));
    var scroller = c.parentElement;
    scroller.scrollLeft = Math.max(0, c.dataset.focus * slot - scroller.clientWidth / 2);
  });
});
)js";

constexpr char kHowToRead[] =
    "How to read this: each partition (a key) is checked on its own. On its timeline each row is "
    "a client and each bar an operation, from its call to its return; bars that overlap were "
    "concurrent, and the service may have executed them in either order. Columns are the order "
    "of events, not their real spacing; hover over a bar for its times, click it for its row "
    "below. Green bars (#1, #2, ...) are the longest order the checker could find that explains "
    "what every client saw. Red bars are operations that could not come next (or, outside the "
    "table of candidates, a read that no order could satisfy any more); orange ones could come "
    "next but led to a dead end; the thick border marks the operation that returned first among "
    "those left (it had to take effect before anything called after it returned); grey ones come "
    "later. A dashed right edge: the call never returned. Dashed purple lines are the faults the "
    "test injected.";

std::string VerdictText(Verdict v) { return std::string(VerdictName(v)); }

// How one operation took part in the search, for its bar and tooltip.
struct Role {
  int position = -1;  // 1-based, in the partial linearization
  const LinearizedOp* step = nullptr;
  int candidate = -1;  // index into candidates
  bool stuck_on = false;
  bool doomed = false;
};

class Renderer {
 public:
  explicit Renderer(const VisualizationInput& in) : in_(in), origin_(Origin(in)) {}

  std::string Render();

 private:
  static absl::Time Origin(const VisualizationInput& in) {
    absl::Time origin = absl::InfiniteFuture();
    for (const VisualOperation& op : in.operations) origin = std::min(origin, op.call);
    for (const FaultEvent& e : in.events) origin = std::min(origin, e.time);
    return origin == absl::InfiniteFuture() ? absl::UnixEpoch() : origin;
  }

  std::string When(absl::Time t) const {
    if (t == absl::InfiniteFuture()) return "never";
    return absl::FormatDuration(t - origin_);
  }

  std::string Name(size_t p) const {
    return p < in_.partition_names.size() ? in_.partition_names[p] : absl::StrCat("partition ", p);
  }

  const VisualOperation& Op(size_t i) const { return in_.operations[i]; }

  void RenderSummary(const std::vector<size_t>& order);
  void RenderPartition(size_t p, bool draw);
  void RenderTimeline(size_t p, const PartitionResult& part,
                      const absl::flat_hash_map<size_t, Role>& roles);
  void RenderStuck(size_t p, const PartitionResult& part);
  void RenderLinearization(size_t p, const PartitionResult& part);

  const VisualizationInput& in_;
  const absl::Time origin_;
  std::string out_;
};

std::string Renderer::Render() {
  const CheckResult& result = *in_.result;
  absl::StrAppend(&out_, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>",
                  HtmlEscape(in_.title.empty() ? "linearizability check" : in_.title),
                  "</title>\n<style>", kStyle, "</style>\n</head><body>\n");
  absl::StrAppend(&out_, "<h1>",
                  HtmlEscape(in_.title.empty() ? "Linearizability check" : in_.title), "</h1>\n");

  // Illegal partitions first, then unknown, then ok.
  std::vector<size_t> order(result.partitions.size());
  for (size_t p = 0; p < order.size(); ++p) order[p] = p;
  auto rank = [&](size_t p) {
    const Verdict v = result.partitions[p].verdict;
    return v == Verdict::kIllegal ? 0 : v == Verdict::kUnknown ? 1 : 2;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rank(a) < rank(b); });
  RenderSummary(order);

  // The page stays a few MB however long the history: partitions are drawn
  // in order while they fit in kMaxOperationsDrawn; the others get their
  // verdict (and, if not ok, where they are stuck) only.
  size_t drawn = 0;
  for (size_t p : order) {
    const PartitionResult& part = result.partitions[p];
    const bool draw = drawn + part.ops.size() <= kMaxOperationsDrawn;
    if (draw) drawn += part.ops.size();
    RenderPartition(p, draw);
  }
  absl::StrAppend(&out_, "<script>", kScript, "</script>\n</body></html>\n");
  return std::move(out_);
}

void Renderer::RenderSummary(const std::vector<size_t>& order) {
  const CheckResult& result = *in_.result;
  size_t illegal = 0;
  size_t unknown = 0;
  for (const PartitionResult& p : result.partitions) {
    illegal += p.verdict == Verdict::kIllegal;
    unknown += p.verdict == Verdict::kUnknown;
  }
  absl::StrAppend(&out_, "<p class=\"verdict-", VerdictText(result.verdict),
                  "\">Verdict: ", VerdictText(result.verdict), "</p>\n<p>", in_.operations.size(),
                  " operations in ", result.partitions.size(), " partitions: ", illegal,
                  " illegal, ", unknown, " unknown (out of time or memory), ",
                  result.partitions.size() - illegal - unknown, " ok. Checked in ",
                  absl::FormatDuration(result.elapsed), ".</p>\n");
  absl::StrAppend(&out_, "<p class=\"note\">", kHowToRead, "</p>\n");
  absl::StrAppend(&out_,
                  "<table><tr><th>partition</th><th>verdict</th><th>operations</th>"
                  "<th>linearized</th><th>search time</th></tr>\n");
  for (size_t p : order) {
    const PartitionResult& part = result.partitions[p];
    absl::StrAppend(
        &out_, "<tr><td><a href=\"#p", p, "\">", HtmlEscape(Name(p)),
        "</a></td><td class=\"verdict-", VerdictText(part.verdict), "\">",
        VerdictText(part.verdict), "</td><td>", part.ops.size(), "</td><td>",
        part.verdict == Verdict::kOk ? std::string("all") : absl::StrCat(part.linearization.size()),
        "</td><td>", absl::FormatDuration(part.elapsed), "</td></tr>\n");
  }
  absl::StrAppend(&out_, "</table>\n");
  if (!in_.events.empty()) {
    absl::StrAppend(&out_,
                    "<h3>Faults injected</h3>\n<table><tr><th>time</th><th>fault</th></tr>\n");
    for (const FaultEvent& e : in_.events) {
      absl::StrAppend(&out_, "<tr><td>", HtmlEscape(When(e.time)), "</td><td>",
                      HtmlEscape(e.description), "</td></tr>\n");
    }
    absl::StrAppend(&out_, "</table>\n");
  }
}

void Renderer::RenderPartition(size_t p, bool draw) {
  const PartitionResult& part = in_.result->partitions[p];
  absl::flat_hash_map<size_t, Role> roles;
  for (size_t k = 0; k < part.linearization.size(); ++k) {
    roles[part.linearization[k].op].position = static_cast<int>(k + 1);
    roles[part.linearization[k].op].step = &part.linearization[k];
  }
  for (size_t c = 0; c < part.candidates.size(); ++c)
    roles[part.candidates[c].op].candidate = static_cast<int>(c);
  if (part.stuck_on.has_value()) roles[*part.stuck_on].stuck_on = true;
  if (part.doomed.has_value()) roles[*part.doomed].doomed = true;

  absl::StrAppend(&out_, "<h2 id=\"p", p, "\">", HtmlEscape(Name(p)), ": <span class=\"verdict-",
                  VerdictText(part.verdict), "\">", VerdictText(part.verdict), "</span></h2>\n");
  switch (part.verdict) {
    case Verdict::kOk:
      absl::StrAppend(&out_, "<p>", part.ops.size(), " operations, linearizable.</p>\n");
      break;
    case Verdict::kIllegal:
      absl::StrAppend(
          &out_, "<p>", part.ops.size(),
          " operations, not linearizable: no order of them explains what the clients saw. The "
          "longest order that explains a prefix of the history has ",
          part.linearization.size(), " operations; after it the search is stuck.</p>\n");
      break;
    case Verdict::kUnknown:
      absl::StrAppend(
          &out_, "<p>", part.ops.size(), " operations; the search ran out of ",
          part.timed_out ? "time" : "memory",
          " before settling this partition (which does not mean it is wrong). It had linearized ",
          part.linearization.size(), " of them.</p>\n");
      break;
  }
  if (!draw) {
    absl::StrAppend(&out_, "<p class=\"note\">(Timeline and linearization left out: the page "
                    "draws at most ", kMaxOperationsDrawn, " operations.)</p>\n");
    if (part.verdict != Verdict::kOk) RenderStuck(p, part);
    return;
  }
  if (part.verdict == Verdict::kOk) {
    absl::StrAppend(&out_, "<details><summary>timeline</summary>\n");
    RenderTimeline(p, part, roles);
    absl::StrAppend(&out_, "</details>\n");
    if (!part.linearization.empty()) RenderLinearization(p, part);
    return;
  }
  RenderTimeline(p, part, roles);
  RenderStuck(p, part);
  RenderLinearization(p, part);
}

void Renderer::RenderTimeline(size_t p, const PartitionResult& part,
                              const absl::flat_hash_map<size_t, Role>& roles) {
  // Columns: every distinct finite time; "never" is one past the last.
  std::vector<absl::Time> times;
  for (size_t i : part.ops) {
    times.push_back(Op(i).call);
    if (Op(i).ret != absl::InfiniteFuture()) times.push_back(Op(i).ret);
  }
  for (const FaultEvent& e : in_.events) times.push_back(e.time);
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  auto column = [&](absl::Time t) {
    return static_cast<size_t>(std::lower_bound(times.begin(), times.end(), t) - times.begin());
  };

  // Rows: a client's operations do not overlap, except in odd testers; those
  // that do get extra lanes in the client's row.
  std::map<int, std::vector<size_t>> by_client;
  for (size_t i : part.ops) by_client[Op(i).client].push_back(i);
  absl::flat_hash_map<size_t, size_t> row_of;
  std::string names;
  size_t rows = 0;
  for (auto& [client, ops] : by_client) {
    std::stable_sort(ops.begin(), ops.end(),
                     [&](size_t a, size_t b) { return Op(a).call < Op(b).call; });
    std::vector<size_t> lane_end;  // last column used, per lane
    for (size_t i : ops) {
      const size_t from = column(Op(i).call);
      size_t lane = 0;
      while (lane < lane_end.size() && lane_end[lane] >= from) ++lane;
      if (lane == lane_end.size()) lane_end.push_back(0);
      lane_end[lane] = column(Op(i).ret);
      row_of[i] = rows + lane;
    }
    absl::StrAppend(&names, "<div class=\"name\" style=\"top:", kBandPx + rows * kRowPx,
                    "px\">client ", client, "</div>");
    rows += lane_end.size();
  }
  const size_t height = kBandPx + rows * kRowPx + 6;

  std::string focus;
  if (part.stuck_on.has_value())
    focus = absl::StrCat(" data-focus=\"", column(Op(*part.stuck_on).ret), "\"");
  absl::StrAppend(&out_, "<div class=\"timeline\"><div class=\"names\" style=\"height:", height,
                  "px\">", names, "</div><div class=\"scroller\"><div class=\"canvas\" id=\"c", p,
                  "\" style=\"--slot:22px;width:calc(var(--slot) * ", times.size() + 2,
                  ");height:", height, "px\"", focus, ">\n");
  for (const FaultEvent& e : in_.events) {
    const std::string text = HtmlEscape(e.description);
    absl::StrAppend(&out_, "<div class=\"ev\" style=\"--a:", column(e.time), "\" title=\"",
                    HtmlEscape(When(e.time)), ": ", text, "\"><span>", text, "</span></div>\n");
  }
  if (part.stuck_on.has_value()) {
    absl::StrAppend(
        &out_, "<div class=\"stuck\" style=\"--a:", column(Op(*part.stuck_on).ret),
        "\" title=\"the linearization is stuck: the thick-bordered operation returned here, so it "
        "had to take effect by now\"><span>stuck</span></div>\n");
  }
  for (size_t i : part.ops) {
    const VisualOperation& op = Op(i);
    const size_t from = column(op.call);
    const size_t to = column(op.ret);
    auto found = roles.find(i);
    const Role role = found == roles.end() ? Role{} : found->second;
    std::string classes = "op";
    std::string href;
    std::string label = op.label;
    std::string status;
    if (role.position > 0) {
      classes += " lin";
      href = absl::StrCat("#p", p, "-s", role.position);
      label = absl::StrCat("#", role.position, " ", op.label);
      status =
          absl::StrCat("linearized as #", role.position, "; state after: ", role.step->state_after);
    } else if (role.candidate >= 0) {
      const Candidate& c = part.candidates[role.candidate];
      classes += c.applies ? " dead" : " bad";
      href = absl::StrCat("#p", p, "-c", role.candidate);
      status = c.applies ? "could come next, but every way on from there failed"
                         : absl::StrCat("cannot come next: ", c.note);
    } else if (role.doomed) {
      classes += " bad";
      href = absl::StrCat("#p", p, "-doomed");
      status = absl::StrCat("can never be linearized after the prefix: ", part.doomed_note);
    } else if (part.verdict != Verdict::kOk) {
      classes += " rest";
      status = "not linearized";
    }
    if (role.stuck_on) classes += " first";
    if (op.ret == absl::InfiniteFuture()) classes += " pending";
    const std::string title = absl::StrCat(
        op.label, "\nclient ", op.client, ", called at ", When(op.call), ", returned ",
        op.ret == absl::InfiniteFuture() ? "never" : "at ",
        op.ret == absl::InfiniteFuture() ? "" : When(op.ret), status.empty() ? "" : "\n", status);
    absl::StrAppend(&out_, "<a class=\"", classes, "\" style=\"--a:", from, ";--w:", to - from + 1,
                    ";top:", kBandPx + row_of[i] * kRowPx, "px\"", href.empty() ? "" : " href=\"",
                    href, href.empty() ? "" : "\"", " title=\"", HtmlEscape(title), "\">",
                    HtmlEscape(label), "</a>\n");
  }
  absl::StrAppend(
      &out_, "</div></div></div>\n<p class=\"legend\"><button onclick=\"zoom('c", p,
      "', 1.5)\">wider</button> <button onclick=\"zoom('c", p,
      "', 1 / 1.5)\">narrower</button> &nbsp; <span style=\"background:#cdeccd\">linearized</span>"
      "<span style=\"background:#f7c6c6\">cannot come next</span><span "
      "style=\"background:#fbe2b8\">"
      "could come next, dead end</span><span style=\"background:#e4e4e4\">later</span>"
      "<span style=\"background:#d5e3f5\">ok partition</span></p>\n");
}

void Renderer::RenderStuck(size_t p, const PartitionResult& part) {
  if (!part.stuck_on.has_value()) return;
  const std::string& state =
      part.linearization.empty() ? part.initial_state : part.linearization.back().state_after;
  absl::StrAppend(&out_, "<h3>Where it is stuck</h3>\n<p>After the ", part.linearization.size(),
                  " operations below, the state is <code>", HtmlEscape(state), "</code>.</p>\n");
  if (part.doomed.has_value()) {
    const VisualOperation& doomed = Op(*part.doomed);
    absl::StrAppend(
        &out_, "<p id=\"p", p, "-doomed\" class=\"verdict-illegal\"><code>",
        HtmlEscape(doomed.label), "</code> by client ", doomed.client, " (called at ",
        HtmlEscape(When(doomed.call)), ", returned at ", HtmlEscape(When(doomed.ret)),
        ") can never be linearized after them: only operations called before it returned can "
        "come before it, and none of them leads to a state where it is possible. Here: ",
        HtmlEscape(part.doomed_note), ".</p>\n");
  }
  const VisualOperation& first = Op(*part.stuck_on);
  absl::StrAppend(
      &out_, "<p><code>", HtmlEscape(first.label), "</code> by client ", first.client,
      " returned at ", HtmlEscape(When(first.ret)),
      ", so it had to take effect before anything called after that; one of these operations had "
      "to come next, and none ",
      part.doomed.has_value() ? "leads to a linearization" : "can", ":</p>\n");
  absl::StrAppend(&out_,
                  "<table><tr><th>client</th><th>operation</th><th>called</th><th>returned</th>"
                  "<th>why not</th></tr>\n");
  for (size_t c = 0; c < part.candidates.size(); ++c) {
    const Candidate& candidate = part.candidates[c];
    const VisualOperation& op = Op(candidate.op);
    const std::string why = candidate.applies
                                ? absl::StrCat("it could (the state would become ", candidate.note,
                                               "), but then no order of the operations left works")
                                : absl::StrCat("impossible here: ", candidate.note);
    absl::StrAppend(&out_, "<tr id=\"p", p, "-c", c, "\" class=\"",
                    candidate.applies ? "dead" : "bad",
                    candidate.op == *part.stuck_on ? " first" : "", "\"><td>", op.client,
                    "</td><td class=\"op\">", HtmlEscape(op.label), "</td><td>",
                    HtmlEscape(When(op.call)), "</td><td>", HtmlEscape(When(op.ret)),
                    "</td><td class=\"state\">", HtmlEscape(why), "</td></tr>\n");
  }
  absl::StrAppend(&out_, "</table>\n");
}

void Renderer::RenderLinearization(size_t p, const PartitionResult& part) {
  absl::StrAppend(
      &out_, "<h3>",
      part.verdict == Verdict::kOk ? "A linearization" : "Longest partial linearization found",
      " (", part.linearization.size(), " of ", part.ops.size(),
      " operations)</h3>\n<div "
      "class=\"scroll\"><table><tr><th>#</th><th>client</th><th>operation</th>"
      "<th>called</th><th>returned</th><th>state after</th></tr>\n<tr><td></td><td colspan=\"4\">"
      "initial state</td><td class=\"state\">",
      HtmlEscape(part.initial_state), "</td></tr>\n");
  const size_t first =
      part.linearization.size() > kMaxLinearizationRows
          ? part.linearization.size() - kMaxLinearizationRows
          : 0;
  if (first > 0) {
    absl::StrAppend(&out_, "<tr><td></td><td colspan=\"5\" class=\"note\">(the first ", first,
                    " steps are left out; the last ", kMaxLinearizationRows,
                    " follow)</td></tr>\n");
  }
  for (size_t k = first; k < part.linearization.size(); ++k) {
    const LinearizedOp& step = part.linearization[k];
    const VisualOperation& op = Op(step.op);
    absl::StrAppend(&out_, "<tr id=\"p", p, "-s", k + 1, "\"><td>", k + 1, "</td><td>", op.client,
                    "</td><td class=\"op\">", HtmlEscape(op.label), "</td><td>",
                    HtmlEscape(When(op.call)), "</td><td>", HtmlEscape(When(op.ret)),
                    "</td><td class=\"state\">", HtmlEscape(step.state_after), "</td></tr>\n");
  }
  absl::StrAppend(&out_, "</table></div>\n");
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderHtml(const VisualizationInput& input) { return Renderer(input).Render(); }

absl::Status WriteHtml(const std::string& path, const VisualizationInput& input) {
  if (input.result == nullptr) return absl::InvalidArgumentError("WriteHtml: no result to show");
  const std::string html = RenderHtml(input);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  const size_t written = std::fwrite(html.data(), 1, html.size(), file);
  const int write_errno = errno;
  if (std::fclose(file) != 0 || written != html.size()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot write ", path, ": ", std::strerror(written != html.size() ? write_errno : errno)));
  }
  return absl::OkStatus();
}

}  // namespace linearizability
