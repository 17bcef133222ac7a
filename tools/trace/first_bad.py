# tools/trace/first_bad.py
#
# The first bad moment of a run: the first record at which a Raft safety
# invariant visibly broke, found from the trace alone, so a viewer can open
# there rather than at the check that noticed it (often seconds later).
#
#   bad = first_bad.find(trace)   # None, or a Moment (t, seq, what, peers)
#   bad = first_bad.shown(trace)  # the same, if it came before the failure
#
# What it looks for, in record order:
#   - two leaders in one term (Election Safety, Figure 3): two peers seen as
#     leader with the same term;
#   - applied values disagreeing at one index (State Machine Safety): two
#     ApplyMsgs for one index with different commands;
#   - a committed entry lost (Leader Completeness): a leader whose log is
#     shorter than an index already applied somewhere;
#   - a `violation` record (a safety monitor's own finding).
# Each check uses only what the tester saw, so it never reports a moment
# that did not happen; it can miss one the trace does not show.

from __future__ import annotations

import dataclasses
from typing import Optional

from tools.trace.records import Trace


@dataclasses.dataclass
class Moment:
    t: int
    seq: int
    what: str
    peers: list


def find(trace: Trace) -> Optional[Moment]:
    leaders: dict = {}        # term -> first peer seen leading it
    state: dict = {}          # peer -> {term, role, log_len}
    applied: dict = {}        # index -> (peer, command)
    max_applied = 0
    for r in trace.records:
        kind = r["kind"]
        if kind == "violation":
            return Moment(r["t"], r["seq"], str(r.get("what", "safety violation")),
                          [str(p) for p in r.get("peers") or []])
        if kind == "state":
            peer = str(r.get("peer"))
            s = state.setdefault(peer, {})
            s.update({k: r[k] for k in ("term", "role", "log_len", "snapshot_index") if k in r})
            if s.get("role") != "leader":
                continue
            term = s.get("term")
            if term is not None:
                first = leaders.setdefault(term, peer)
                if first != peer:
                    return Moment(r["t"], r["seq"], f"two leaders in term {term}: {first} and {peer}",
                                  [first, peer])
            # Counting a compacted prefix in too whether or not log_len does
            # (the schema leaves it open) never reports a loss that is not one.
            length = s.get("log_len", max_applied) + s.get("snapshot_index", 0)
            if "log_len" in r and length < max_applied:
                return Moment(r["t"], r["seq"],
                              f"committed entry lost: leader {peer} (term {term}) has a log of "
                              f"{s['log_len']} entries, but index {max_applied} was applied", [peer])
        elif kind == "apply" and "index" in r:
            index, peer, command = r["index"], str(r.get("peer")), r.get("command")
            seen = applied.setdefault(index, (peer, command))
            if seen[1] != command:
                return Moment(r["t"], r["seq"],
                              f"applied values disagree at index {index}: {seen[0]} applied "
                              f"{seen[1]}, {peer} applied {command}", sorted({seen[0], peer}))
            max_applied = max(max_applied, index)
    return None


def shown(trace: Trace) -> Optional[Moment]:
    """The first bad moment as the views mark it: only if it came before the
    failure (or there is none); otherwise the failure says it all."""
    moment = find(trace)
    if moment and (trace.failure is None or moment.t < trace.failure["t"]):
        return moment
    return None


def focus(trace: Trace) -> Optional[dict]:
    """Where a viewer should open: the shown first bad moment, else the
    failure, else nowhere in particular (None)."""
    moment = shown(trace)
    if moment:
        return {"t": moment.t, "seq": moment.seq, "what": moment.what, "first_bad": True}
    failure = trace.failure
    if failure:
        return {"t": failure["t"], "seq": failure["seq"], "what": failure.get("text", ""),
                "first_bad": False}
    return None
