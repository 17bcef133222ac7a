# tools/trace/perfetto.py
#
# A trace in Chrome's trace-event JSON format, which Perfetto's UI
# (ui.perfetto.dev, "Open trace file") and chrome://tracing open: each peer
# (and clerk, and the tester) is a process, each of its tasks a thread; log
# lines, applies and tester actions are instant events; a peer's role and
# term are complete ("X") slices on a "state" thread, its commit and applied
# indices counters; an RPC is a slice on the sender ("call") and one on the
# receiver ("handle") joined by flow events ("s" -> "f").
#
#   doc = perfetto.export(trace)      # a dict: {"traceEvents": [...], ...}
#   perfetto.write(trace, "out.json")
#
# Timestamps are the trace's virtual microseconds, as the format expects.

from __future__ import annotations

import json

from tools.trace import first_bad, model
from tools.trace.records import Trace

# Threads with fixed ids in every process; calls get lanes from 100 on (a
# slice may not overlap another on its thread), tasks ids from 1000 on.
TID_STATE, TID_RPC_IN, TID_EVENTS, TID_CALL_LANES, TID_TASKS = 1, 3, 4, 100, 1000


def export(trace: Trace) -> dict:
    events = []
    pids: dict = {}
    tids: dict = {}

    def pid(actor) -> int:
        actor = str(actor)
        if actor not in pids:
            pids[actor] = len(pids) + 1
            kind = "peer " if actor in trace.peers else ""
            events.append({"ph": "M", "name": "process_name", "pid": pids[actor], "tid": 0,
                           "args": {"name": kind + actor}})
            events.append({"ph": "M", "name": "process_sort_index", "pid": pids[actor], "tid": 0,
                           "args": {"sort_index": pids[actor]}})
            for tid, name in ((TID_STATE, "state"), (TID_RPC_IN, "rpc handlers"),
                              (TID_EVENTS, "tester events")):
                events.append({"ph": "M", "name": "thread_name", "pid": pids[actor], "tid": tid,
                               "args": {"name": name}})
        return pids[actor]

    def tid(actor, task) -> int:
        key = (str(actor), str(task))
        if key not in tids:
            tids[key] = TID_TASKS + sum(1 for k in tids if k[0] == key[0])
            events.append({"ph": "M", "name": "thread_name", "pid": pid(actor), "tid": tids[key],
                           "args": {"name": str(task)}})
        return tids[key]

    for actor in list(trace.peers) + list(trace.clients) + ["tester"]:
        pid(actor)

    # Roles and terms as slices; commit/applied as counters.
    t_end = trace.t_end
    for peer, series in model.state_series(trace).items():
        p = pid(peer)
        for i, (t, _, st) in enumerate(series):
            nxt = series[i + 1][0] if i + 1 < len(series) else t_end
            events.append({"ph": "X", "name": f"{st.get('role', '?')} T{st.get('term', '?')}",
                           "cat": "state", "pid": p, "tid": TID_STATE, "ts": t,
                           "dur": max(nxt - t, 0), "args": dict(st)})
            counters = {k: st[k] for k in ("commit", "applied", "log_len") if k in st}
            if counters:
                events.append({"ph": "C", "name": "indices", "pid": p, "tid": TID_STATE, "ts": t,
                               "args": counters})

    lanes: dict = {}   # (sender, calling task) -> [(tid, end time of its last call)]
    lane_count: dict = {}  # sender -> lanes made

    def lane(actor, task, t0, t1) -> int:
        """A thread for a call: the calling task's (or "rpc calls") first
        lane that is free at t0; calls that overlap get more lanes."""
        ends = lanes.setdefault((actor, task), [])
        for i, (tid, end) in enumerate(ends):
            if end <= t0:
                ends[i] = (tid, t1)
                return tid
        tid = TID_CALL_LANES + lane_count.get(actor, 0)
        lane_count[actor] = lane_count.get(actor, 0) + 1
        ends.append((tid, t1))
        events.append({"ph": "M", "name": "thread_name", "pid": pid(actor), "tid": tid,
                       "args": {"name": f"{task or 'rpc'} calls ({len(ends)})"}})
        return tid

    for c in sorted(model.calls(trace), key=lambda c: (c.t_send is None, c.t_send or 0)):
        if c.sender is None or c.t_send is None:
            continue
        m = model.short_method(c.method)
        end = next((x for x in (c.t_reply, c.t_lost) if x is not None), c.t_send)
        args = {"to": c.receiver, "args": c.args, "reply": c.reply}
        if c.why:
            args["lost"] = c.why
        if c.held_back_ms:
            args["held_back_ms"] = c.held_back_ms
        name = f"{m} -> {c.receiver}" + (" (lost)" if c.t_lost is not None else "")
        call_tid = lane(c.sender, c.task, c.t_send, max(end, c.t_send + 1))
        events.append({"ph": "X", "name": name, "cat": "rpc", "pid": pid(c.sender),
                       "tid": call_tid, "ts": c.t_send, "dur": max(end - c.t_send, 0),
                       "args": args})
        if c.t_deliver is None:
            continue
        events.append({"ph": "X", "name": f"{m} from {c.sender}", "cat": "rpc",
                       "pid": pid(c.receiver), "tid": TID_RPC_IN, "ts": c.t_deliver, "dur": 0,
                       "args": {"from": c.sender, "args": c.args}})
        flow = {"name": m, "cat": "rpc", "id": str(c.id)}
        events.append(dict(flow, ph="s", pid=pid(c.sender), tid=call_tid, ts=c.t_send))
        events.append(dict(flow, ph="f", bp="e", pid=pid(c.receiver), tid=TID_RPC_IN,
                           ts=c.t_deliver))

    for r in trace.records:
        kind, t = r["kind"], r["t"]
        if kind == "log":
            actor = r.get("peer", "tester")
            events.append({"ph": "i", "s": "t", "name": f"{r.get('topic', '?')} {r.get('text', '')}",
                           "cat": str(r.get("topic", "log")), "pid": pid(actor),
                           "tid": tid(actor, r.get("task", "?")), "ts": t, "args": {}})
        elif kind == "tester":
            actor = r.get("peer") if r.get("event") in ("crash", "restart", "connect",
                                                        "disconnect", "start") else "tester"
            events.append({"ph": "i", "s": "p", "name": model.tester_text(r), "cat": "tester",
                           "pid": pid(actor), "tid": TID_EVENTS, "ts": t, "args": {}})
        elif kind == "apply":
            events.append({"ph": "i", "s": "t", "name": model.apply_text(r), "cat": "apply",
                           "pid": pid(r.get("peer")), "tid": TID_EVENTS, "ts": t, "args": {}})
        elif kind in ("failure", "violation"):
            text = r.get("text") if kind == "failure" else r.get("what")
            events.append({"ph": "i", "s": "g", "name": f"{kind.upper()}: {text}", "cat": kind,
                           "pid": pid("tester"), "tid": TID_EVENTS, "ts": t, "args": {}})

    for o in model.ops(trace):
        if o.t_call is None:
            continue
        end = o.t_return if o.t_return is not None else t_end
        events.append({"ph": "X", "name": o.text(), "cat": "op", "pid": pid(o.client),
                       "tid": TID_EVENTS, "ts": o.t_call, "dur": max(end - o.t_call, 0), "args": {}})

    moment = first_bad.shown(trace)
    if moment:
        events.append({"ph": "i", "s": "g", "name": f"FIRST BAD MOMENT: {moment.what}",
                       "cat": "first_bad", "pid": pid("tester"), "tid": TID_EVENTS, "ts": moment.t,
                       "args": {}})
    return {"traceEvents": events, "displayTimeUnit": "ms",
            "otherData": {k: str(v) for k, v in trace.run.items() if k != "kind"}}


def write(trace: Trace, path) -> int:
    text = json.dumps(export(trace), separators=(",", ":"))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return len(text)
