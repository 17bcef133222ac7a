# tools/trace/model.py
#
# What the viewers derive from a trace's records: RPC calls joined by id,
# each peer's state over time (fields carried forward between `state`
# records), the shaded stretches (crashed, disconnected, partitioned), clerk
# operations, and the short texts the views print for an RPC or an event.

from __future__ import annotations

import dataclasses
from typing import Optional

from tools.trace.records import Trace

ROLES = ("follower", "candidate", "leader", "dead")
STATE_FIELDS = ("term", "role", "commit", "applied", "log_len", "snapshot_index")

# Short method names for dense views; others print as their last component.
SHORT_METHODS = {
    "Raft.AppendEntries": "AE",
    "Raft.RequestVote": "RV",
    "Raft.InstallSnapshot": "IS",
}


def short_method(method: str) -> str:
    return SHORT_METHODS.get(method, method.rsplit(".", 1)[-1])


@dataclasses.dataclass
class Call:
    id: object
    sender: Optional[str] = None
    receiver: Optional[str] = None
    method: str = "?"
    t_send: Optional[int] = None
    t_deliver: Optional[int] = None
    t_reply: Optional[int] = None
    t_lost: Optional[int] = None
    why: Optional[str] = None
    held_back_ms: Optional[float] = None
    task: Optional[str] = None   # the calling task, when the trace says
    args: dict = dataclasses.field(default_factory=dict)
    reply: dict = dataclasses.field(default_factory=dict)
    seq: int = 0              # seq of the first record seen

    @property
    def is_heartbeat(self) -> bool:
        return self.method == "Raft.AppendEntries" and not self.args.get("entries")


def calls(trace: Trace) -> list:
    """Every RPC call, in the order of its first record. A trace that starts
    mid-run may hold calls without a send (sender/receiver then unknown)."""
    by_id: dict = {}
    for r in trace.records:
        if r["kind"] != "rpc":
            continue
        c = by_id.get(r.get("id"))
        if c is None:
            c = by_id[r.get("id")] = Call(id=r.get("id"), seq=r["seq"])
        phase = r.get("phase")
        if phase == "send":
            c.sender, c.receiver = str(r.get("from")), str(r.get("to"))
            c.method = r.get("method", "?")
            c.t_send = r["t"]
            c.args = r.get("fields") or {}
            c.task = r.get("task")
        elif phase == "deliver":
            c.t_deliver = r["t"]
        elif phase == "reply":
            c.t_reply = r["t"]
            c.reply = r.get("fields") or {}
            c.held_back_ms = r.get("held_back_ms")
        elif phase == "lost":
            c.t_lost = r["t"]
            c.why = r.get("why")
    return list(by_id.values())


def args_text(c: Call) -> str:
    a = c.args
    if c.method == "Raft.AppendEntries":
        parts = [f"T{a.get('term', '?')}"]
        if "prev_log_index" in a:
            parts.append(f"prev={a['prev_log_index']}/{a.get('prev_log_term', '?')}")
        parts.append(f"n={a.get('entries', 0)}")
        if "leader_commit" in a:
            parts.append(f"lc={a['leader_commit']}")
        return " ".join(parts)
    if c.method == "Raft.RequestVote":
        return f"T{a.get('term', '?')} last={a.get('last_log_index', '?')}/{a.get('last_log_term', '?')}"
    return " ".join(f"{k}={v}" for k, v in a.items())


def reply_text(c: Call) -> str:
    f = c.reply
    parts = []
    if "term" in f:
        parts.append(f"T{f['term']}")
    for key, yes, no in (("success", "ok", "rejected"), ("vote_granted", "granted", "refused")):
        if key in f:
            parts.append(yes if f[key] else no)
    parts += [f"{k}={v}" for k, v in f.items() if k not in ("term", "success", "vote_granted")]
    if c.held_back_ms:
        parts.append(f"held back {c.held_back_ms:g} ms")
    return " ".join(parts)


def state_series(trace: Trace) -> dict:
    """{peer: [(t, seq, state)]}: each peer's full state after each change."""
    series = {p: [] for p in trace.peers}
    current: dict = {}
    for r in trace.records:
        if r["kind"] != "state":
            continue
        peer = str(r.get("peer"))
        state = dict(current.get(peer, {}))
        state.update({k: r[k] for k in STATE_FIELDS if k in r})
        current[peer] = state
        series.setdefault(peer, []).append((r["t"], r["seq"], state))
    return series


@dataclasses.dataclass
class Shade:
    peer: str
    t0: int
    t1: int
    kind: str      # "crashed", "disconnected", "partition"
    label: str


def shades(trace: Trace) -> list:
    """Stretches during which a peer was crashed, cut off, or in a minority
    side of a partition (every group but the largest is shaded)."""
    out = []
    t_end = trace.t_end
    open_since: dict = {}   # (peer, kind) -> (t, label)

    def close(key, t):
        t0, label = open_since.pop(key)
        if t > t0:
            out.append(Shade(key[0], t0, t, key[1], label))

    for r in trace.records:
        if r["kind"] != "tester":
            continue
        event, t = r.get("event"), r["t"]
        peer = str(r.get("peer"))
        if event == "crash":
            open_since.setdefault((peer, "crashed"), (t, "crashed"))
        elif event == "restart" and (peer, "crashed") in open_since:
            close((peer, "crashed"), t)
        elif event == "disconnect":
            open_since.setdefault((peer, "disconnected"), (t, "disconnected"))
        elif event == "connect" and (peer, "disconnected") in open_since:
            close((peer, "disconnected"), t)
        elif event == "partition":
            for key in [k for k in open_since if k[1] == "partition"]:
                close(key, t)
            groups = [[str(p) for p in g] for g in r.get("groups") or []]
            if len(groups) > 1:
                largest = max(range(len(groups)), key=lambda i: len(groups[i]))
                for i, group in enumerate(groups):
                    if i != largest:
                        label = "partition: with " + ",".join(group)
                        for p in group:
                            open_since[(p, "partition")] = (t, label)
    for key in list(open_since):
        close(key, t_end)
    return out


@dataclasses.dataclass
class Op:
    id: object
    client: str
    op: str
    key: str
    value: Optional[str]
    t_call: Optional[int]
    t_return: Optional[int] = None
    output: Optional[str] = None

    def text(self) -> str:
        arg = f"{self.key!r}" + (f", {self.value!r}" if self.op != "get" else "")
        out = "" if self.t_return is None else (f" -> {self.output!r}" if self.op == "get" else " -> ok")
        return f"{self.op}({arg}){out}"


def ops(trace: Trace) -> list:
    by_id: dict = {}
    for r in trace.records:
        if r["kind"] != "op":
            continue
        o = by_id.get(r.get("id"))
        if o is None:
            o = by_id[r.get("id")] = Op(id=r.get("id"), client=str(r.get("client")),
                                        op=r.get("op", "?"), key=str(r.get("key", "")),
                                        value=r.get("value"), t_call=None)
        if r.get("phase") == "call":
            o.t_call = r["t"]
        elif r.get("phase") == "return":
            o.t_return = r["t"]
            o.output = r.get("output")
    return list(by_id.values())


def tester_text(r: dict) -> str:
    """One line for a `tester` record."""
    e = r.get("event", "?")
    if e == "begin":
        return f"begin: {r.get('title', '')}"
    if e in ("crash", "restart", "connect", "disconnect"):
        return f"{e} {r.get('peer')}"
    if e == "partition":
        return "partition " + " | ".join(",".join(str(p) for p in g) for g in r.get("groups") or [])
    if e == "link":
        return f"link {r.get('from')}->{r.get('to')} {'on' if r.get('enabled') else 'off'}"
    if e == "net":
        return "net " + " ".join(f"{k}={str(v).lower()}" for k, v in r.items()
                                 if k in ("reliable", "long_reordering", "long_delays"))
    if e == "start":
        ok = "leader" if r.get("is_leader") else "not leader"
        return f"Start({r.get('command')}) at {r.get('peer')}: index {r.get('index')} term {r.get('term')} ({ok})"
    if e == "check":
        result = r.get("result")
        failed = " (FAILED)" if r.get("ok") is False else ""
        return f"check {r.get('what')}" + (f": {result}" if result not in (None, "") else "") + failed
    if e == "phase":
        return f"phase: {r.get('text', '')}"
    return e


def apply_text(r: dict) -> str:
    if "snapshot_index" in r:
        return f"apply snapshot @{r['snapshot_index']}/T{r.get('snapshot_term', '?')}"
    return f"apply {r.get('index')}: {r.get('command')}"


def time_text(t_us: int) -> str:
    """Virtual time as seconds with millisecond precision: 12.345s."""
    return f"{t_us / 1e6:.3f}s"
