# tools/trace/perfetto_test.py
#
# The Perfetto / chrome://tracing export follows the trace-event format:
# every event has the fields its phase requires, with the right types; every
# process and thread used is named; slices on one thread nest properly (the
# UIs misdraw overlapping ones); every flow start has its end, each bound to
# a slice enclosing it (an RPC's call on the sender, its handler on the
# receiver).

from __future__ import annotations

import collections
import json
import unittest
from pathlib import Path

from tools.trace import perfetto, records, synth

SMALL = Path(__file__).resolve().parent / "testdata" / "small.jsonl"
RECORDED = Path(__file__).resolve().parent / "testdata" / "broken_vote_reelection.jsonl"

REQUIRED = {  # phase -> fields it needs besides ph
    "X": ("name", "pid", "tid", "ts", "dur"),
    "i": ("name", "pid", "tid", "ts", "s"),
    "C": ("name", "pid", "ts", "args"),
    "M": ("name", "pid", "args"),
    "s": ("name", "cat", "id", "pid", "tid", "ts"),
    "f": ("name", "cat", "id", "pid", "tid", "ts"),
}


def validate(test: unittest.TestCase, doc: dict) -> collections.Counter:
    """Checks doc against the format; returns how many events of each phase."""
    json.loads(json.dumps(doc))  # plain JSON
    test.assertIsInstance(doc["traceEvents"], list)
    phases = collections.Counter()
    named_pids, named_threads, used_threads = set(), set(), set()
    slices = collections.defaultdict(list)
    flows = collections.defaultdict(dict)
    for e in doc["traceEvents"]:
        ph = e.get("ph")
        test.assertIn(ph, REQUIRED, e)
        phases[ph] += 1
        for field in REQUIRED[ph]:
            test.assertIn(field, e, e)
        test.assertIsInstance(e["name"], str)
        test.assertIsInstance(e["pid"], int)
        if "tid" in e:
            test.assertIsInstance(e["tid"], int)
        if ph == "M":
            if e["name"] == "process_name":
                named_pids.add(e["pid"])
            elif e["name"] == "thread_name":
                named_threads.add((e["pid"], e["tid"]))
            continue
        test.assertIsInstance(e["ts"], (int, float))
        test.assertGreaterEqual(e["ts"], 0)
        if ph != "C":
            used_threads.add((e["pid"], e["tid"]))
        if ph == "X":
            test.assertGreaterEqual(e["dur"], 0)
            slices[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
        elif ph == "i":
            test.assertIn(e["s"], ("g", "p", "t"))
        elif ph in ("s", "f"):
            test.assertNotIn(ph, flows[(e["cat"], e["id"])], f"flow {ph} repeated: {e}")
            flows[(e["cat"], e["id"])][ph] = e
    test.assertTrue(used_threads <= named_threads, used_threads - named_threads)
    test.assertEqual({p for p, _ in used_threads} - named_pids, set())
    for thread, spans in slices.items():
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack = []
        for start, end in spans:
            while stack and stack[-1] <= start:
                stack.pop()
            test.assertTrue(not stack or end <= stack[-1], f"overlapping slices on {thread}")
            stack.append(end)
    for key, pair in flows.items():
        test.assertEqual(set(pair), {"s", "f"}, f"flow {key} has no pair")
        for e in pair.values():
            test.assertTrue(any(s <= e["ts"] <= t for s, t in slices[(e["pid"], e["tid"])]),
                            f"flow event outside any slice: {e}")
    return phases


class PerfettoTest(unittest.TestCase):
    def test_small_trace(self):
        trace = records.load(SMALL)
        doc = perfetto.export(trace)
        phases = validate(self, doc)
        self.assertEqual(phases["s"], 2)  # two RPCs were delivered (one was lost)
        names = {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "process_name"}
        self.assertEqual(names, {"peer 0", "peer 1", "peer 2", "tester"})
        threads = {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
        self.assertTrue({"ticker", "RequestVote", "elector", "AppendEntries"} <= threads)
        failure = [e for e in doc["traceEvents"] if e["name"].startswith("FAILURE: apply error")]
        self.assertEqual(len(failure), 1)

    def test_recorded_trace(self):
        doc = perfetto.export(records.load(RECORDED))
        self.assertGreater(validate(self, doc)["s"], 20)
        names = {e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "process_name"}
        self.assertEqual(names, {"peer raft-0", "peer raft-1", "peer raft-2", "tester"})

    def test_calls_go_on_their_task_when_the_trace_names_it(self):
        def send(seq, rid, t):
            return {"kind": "rpc", "t": t, "seq": seq, "phase": "send", "id": rid, "from": "0",
                    "to": "1", "method": "Raft.AppendEntries", "task": "replicator",
                    "fields": {"term": 1, "entries": 0}}
        trace = records.parse_lines([json.dumps(r) + "\n" for r in (
            send(0, 1, 100), send(1, 2, 150),  # overlapping: two lanes
            {"kind": "rpc", "t": 200, "seq": 2, "phase": "reply", "id": 1, "fields": {}},
            {"kind": "rpc", "t": 250, "seq": 3, "phase": "reply", "id": 2, "fields": {}},
            send(4, 3, 300),  # free again: the first lane
            {"kind": "rpc", "t": 350, "seq": 5, "phase": "reply", "id": 3, "fields": {}})])
        doc = perfetto.export(trace)
        validate(self, doc)
        lanes = {e["tid"]: e["args"]["name"] for e in doc["traceEvents"]
                 if e["name"] == "thread_name" and "calls" in e["args"]["name"]}
        self.assertEqual(sorted(lanes.values()), ["replicator calls (1)", "replicator calls (2)"])
        calls = [e["tid"] for e in doc["traceEvents"] if e["ph"] == "X" and e.get("cat") == "rpc"]
        self.assertEqual(calls[0], calls[2])
        self.assertNotEqual(calls[0], calls[1])

    def test_long_synthetic_run_with_clerks(self):
        trace = synth.trace(seconds=40, seed=4, clients=2, bug="two-leaders")
        doc = perfetto.export(trace)
        phases = validate(self, doc)
        self.assertGreater(phases["s"], 1000)
        self.assertTrue(any(e["name"].startswith("FIRST BAD MOMENT") for e in doc["traceEvents"]))
        self.assertTrue(any(e.get("cat") == "op" for e in doc["traceEvents"]))


if __name__ == "__main__":
    unittest.main()
