# tools/trace/page.py
#
# The HTML timeline of a trace: one self-contained file (inline data, script
# and style; no network), drawn by timeline.js in the browser.
#
#   html = page.render(trace)                   # str
#   page.render(trace, budget=8_000_000)        # the data's size bound, bytes
#
# The data is compact: rows of numbers, every repeated string once in a
# table. If a trace is still too big for `budget`, the RPCs and log lines
# farthest in time from the focus (the first bad moment, else the failure,
# else the end) are left out, heartbeats first; the page says how many and
# over which times it is complete.

from __future__ import annotations

import json
from pathlib import Path

from tools.trace import first_bad, model
from tools.trace.records import Trace

HERE = Path(__file__).resolve().parent
DEFAULT_BUDGET = 8_000_000  # bytes of data; the script and style add ~30 kB

# Kinds of point events (the `ev` rows' third column).
EV_LOG, EV_TESTER, EV_APPLY, EV_START, EV_VIOLATION, EV_STATE = range(6)
# Which columns of an rpc row and of a log line's ev row are strings.
RPC_STRINGS = (2, 7, 9, 10)
LOG_STRINGS = (3, 4, 5)


class _Strings:
    """A table of the page's strings; rows refer to them by index."""

    def __init__(self):
        self.table = []
        self.index = {}

    def __call__(self, s) -> int:
        if s is None:
            return -1
        s = str(s)
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.table)
            self.table.append(s)
        return i


def _t(v):
    return -1 if v is None else v


def build_data(trace: Trace, budget: int = DEFAULT_BUDGET) -> dict:
    """The page's data (a JSON-able dict); see timeline.js for its layout."""
    moment = first_bad.shown(trace)
    focus = first_bad.focus(trace)
    cols = list(trace.peers) + list(trace.clients)
    col_of = {name: i for i, name in enumerate(cols)}

    def col(name) -> int:
        name = str(name)
        if name not in col_of:  # a peer the run record did not list, or "tester"
            col_of[name] = len(cols)
            cols.append(name)
        return col_of[name]

    col("tester")
    s = _Strings()

    states = []
    for peer, series in model.state_series(trace).items():
        c = col(peer)
        for t, _, st in series:
            role = st.get("role")
            states.append([c, t, st.get("term", -1),
                           model.ROLES.index(role) if role in model.ROLES else -1,
                           st.get("commit", -1), st.get("applied", -1), st.get("log_len", -1)])

    shades = [[col(x.peer), x.t0, x.t1, s(x.kind), s(x.label)] for x in model.shades(trace)]

    # Items that may be left out to fit the budget: (class weight, t, kind, row[, seq]).
    optional = []
    for c in model.calls(trace):
        if c.t_send is None:
            continue  # a reply or loss without its send (the trace starts mid-run)
        # Strings stay strings until _fit has chosen what to keep.
        row = [col(c.sender), col(c.receiver), model.short_method(c.method), _t(c.t_send),
               _t(c.t_deliver), _t(c.t_reply), _t(c.t_lost), c.why,
               c.held_back_ms or 0, model.args_text(c), model.reply_text(c),
               1 if c.is_heartbeat else 0]
        optional.append((4 if c.is_heartbeat else 1, c.t_send, "rpc", row))

    events = []  # (seq, row): an instant's lines keep the order they happened in
    for r in trace.records:
        kind, t = r["kind"], r["t"]
        if kind == "log":
            row = [col(r.get("peer", "tester")), t, EV_LOG, r.get("topic", ""), r.get("text", ""),
                   r.get("task")]
            optional.append((2, t, "ev", row, r["seq"]))
        elif kind == "tester":
            event = r.get("event")
            where = col(r["peer"]) if event == "start" and "peer" in r else col("tester")
            events.append((r["seq"], [where, t, EV_START if event == "start" else EV_TESTER,
                                      s(event), s(model.tester_text(r)), -1]))
        elif kind == "apply":
            events.append((r["seq"], [col(r.get("peer")), t, EV_APPLY, s("apply"),
                                      s(model.apply_text(r)), -1]))
        elif kind == "violation":
            events.append((r["seq"], [col("tester"), t, EV_VIOLATION, s("violation"),
                                      s(r.get("what", "")), -1]))

    ops = [[col(o.client), _t(o.t_call), _t(o.t_return), s(o.text())] for o in model.ops(trace)]

    focus_t = focus["t"] if focus else trace.t_end
    kept, omitted, complete = _fit(optional, focus_t, budget, s,
                                   base=_size(states, shades, [row for _, row in events], ops, s.table))
    if complete:
        complete = [max(complete[0], 0), min(complete[1], trace.t_end)]
    intern = lambda row, at: [s(v) if i in at else v for i, v in enumerate(row)]  # noqa: E731
    rpcs = [intern(item[3], RPC_STRINGS) for item in kept if item[2] == "rpc"]
    events += [(item[4], intern(item[3], LOG_STRINGS)) for item in kept if item[2] == "ev"]
    rpcs.sort(key=lambda row: row[3])
    events.sort(key=lambda e: (e[1][1], e[0]))
    events = [row for _, row in events]

    run = trace.run
    failure = trace.failure
    return {
        "title": trace.title,
        "run": {k: run.get(k) for k in ("test", "runtime", "seed", "replay") if k in run},
        "cols": cols,
        "npeers": len(trace.peers),
        "nclients": len(trace.clients),
        "t_end": trace.t_end,
        "roles": list(model.ROLES),
        "str": s.table,
        "states": states,
        "shades": shades,
        "rpcs": rpcs,
        "ev": events,
        "ops": ops,
        "failure": None if failure is None else {
            "t": failure["t"], "text": failure.get("text", ""),
            "where": f"{failure.get('file', '?')}:{failure.get('line', '?')}"},
        "first_bad": None if moment is None else {"t": moment.t, "what": moment.what,
                                                  "peers": moment.peers},
        "focus": focus,
        "omitted": omitted,
        "complete": complete,
        "warnings": trace.warnings + [f"skipped {n} records of unknown kind {k!r}"
                                      for k, n in sorted(trace.skipped_kinds.items())],
    }


def _size(*parts) -> int:
    return sum(len(json.dumps(p, separators=(",", ":"))) for p in parts)


def _fit(optional, focus_t, budget, strings, base):
    """Keeps the optional items nearest the focus (weighted by class) that
    fit in budget, counting each string the first time an item needs it;
    returns (kept, omitted counts, [t0, t1] kept in full)."""
    def cost(row, seen):
        n = 0
        for v in row:
            if isinstance(v, str):
                n += 6
                if v not in seen:
                    seen.add(v)
                    n += len(json.dumps(v, ensure_ascii=False)) + 1
            else:
                n += len(str(v)) + 1
        return n + 3

    seen = set(strings.table)
    total = base + sum(cost(item[3], seen) for item in optional)
    if total <= budget:
        return optional, {}, None
    order = sorted(range(len(optional)),
                   key=lambda i: optional[i][0] * abs(_t(optional[i][1]) - focus_t))
    kept_idx, total, seen = [], base, set(strings.table)
    for i in order:
        total += cost(optional[i][3], seen)
        if total > budget:
            break
        kept_idx.append(i)
    left = set(range(len(optional))) - set(kept_idx)
    omitted = {}
    for i in left:
        name = "heartbeats" if optional[i][0] == 4 else {"rpc": "RPCs", "ev": "log lines"}[optional[i][2]]
        omitted[name] = omitted.get(name, 0) + 1
    # Every class is complete within the nearest omitted item's weighted
    # distance divided by the largest weight (4).
    nearest = min(abs(_t(optional[i][1]) - focus_t) * optional[i][0] for i in left)
    half = nearest // 4
    return [optional[i] for i in sorted(kept_idx)], omitted, [focus_t - half, focus_t + half]


def _json_for_script(data) -> str:
    # "</" would end the <script> element early; "<\/" is the same JSON string.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")


def render(trace: Trace, budget: int = DEFAULT_BUDGET) -> str:
    data = build_data(trace, budget)
    script = (HERE / "timeline.js").read_text(encoding="utf-8")
    style = (HERE / "timeline.css").read_text(encoding="utf-8")
    title = data["title"].replace("&", "&amp;").replace("<", "&lt;")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<title>{title}: timeline</title>\n<style>\n{style}</style>\n"
        # Records errors into the page before anything else runs, so a
        # headless browser's DOM dump shows them (the browser test reads it).
        "<script>window.pageErrors=[];window.addEventListener('error',function(e){"
        "window.pageErrors.push(String(e.message));var p=document.getElementById('errors');"
        "if(p){p.textContent=window.pageErrors.join('\\n');}});</script>\n"
        "</head><body>\n"
        f"<script id=\"data\" type=\"application/json\">{_json_for_script(data)}</script>\n"
        f"<script>\n{script}</script>\n</body></html>\n")


def write(trace: Trace, path, budget: int = DEFAULT_BUDGET) -> int:
    """Writes the page to path; returns its size in bytes."""
    text = render(trace, budget)
    Path(path).write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))
