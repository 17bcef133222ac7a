"""Traces of real test runs, checked against trace/SCHEMA.md, and the proof
that recording one leaves a sim run exactly as it was.

Runs the Lab 2 and Lab 3 test binaries (given as arguments) on a few tests
and seeds, once with LAB_TRACE and once without: the schedule fingerprints
and outcomes must be the same, and every line of every trace must parse as
JSON and carry the fields its kind requires.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

RAFT_TEST = sys.argv[1] if len(sys.argv) > 1 else ""
KV_TEST = sys.argv[2] if len(sys.argv) > 2 else ""

# Fields every record of a kind must have (SCHEMA.md), beyond kind/t/seq.
REQUIRED = {
    "run": ["schema", "test", "runtime", "peers", "clients", "replay"],
    "log": ["peer", "task", "topic", "text"],
    "tester": ["event"],
    "state": ["peer"],
    "rpc": ["id", "phase"],
    "apply": ["peer"],
    "op": ["client", "op", "key", "phase", "id"],
    "violation": ["what", "peers"],
    "failure": ["text"],
    "end": ["passed", "dropped"],
}
TESTER_EVENTS = {
    "begin": ["title"], "crash": ["peer"], "restart": ["peer"], "connect": ["peer"],
    "disconnect": ["peer"], "partition": ["groups"], "link": ["from", "to", "enabled"],
    "net": [], "start": ["peer", "command", "index", "term", "is_leader"],
    "check": ["what", "result"], "phase": ["text"],
}
RPC_PHASES = {
    "send": ["from", "to", "method", "bytes"], "deliver": [],
    "reply": ["bytes"], "lost": ["why"],
}
ROLES = {"leader", "candidate", "follower", "dead"}


def run(binary, test, seed, trace_path=None):
    env = dict(os.environ, LAB_RUNTIME="sim", LAB_SEED=str(seed))
    env.pop("LAB_TRACE", None)
    if trace_path:
        env["LAB_TRACE"] = trace_path
    p = subprocess.run([binary, f"--gtest_filter={test}"], env=env, capture_output=True,
                       text=True, timeout=600)
    fingerprints = re.findall(r"^fingerprint: ([0-9a-f]+)$", p.stdout, re.M)
    return p.returncode, fingerprints, p.stdout


class TraceOfRealRuns(unittest.TestCase):

    def check_trace(self, path, test, seed):
        with open(path, encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
        self.assertEqual(records[0]["kind"], "run")
        self.assertEqual(records[0]["schema"], 1)
        self.assertEqual(records[0]["test"], test)
        self.assertEqual(records[0]["seed"], seed)
        self.assertEqual(records[-1]["kind"], "end")
        peers = set(records[0]["peers"])
        self.assertTrue(peers)
        last_seq, last_t = -1, 0
        kinds = set()
        for r in records:
            kinds.add(r["kind"])
            self.assertGreater(r["seq"], last_seq, r)
            self.assertGreaterEqual(r["t"], last_t, r)  # sim: time never goes back
            last_seq, last_t = r["seq"], r["t"]
            for field in REQUIRED.get(r["kind"], []):
                self.assertIn(field, r, r)
            if r["kind"] == "tester":
                for field in TESTER_EVENTS[r["event"]]:
                    self.assertIn(field, r, r)
            if r["kind"] == "rpc":
                for field in RPC_PHASES[r["phase"]]:
                    self.assertIn(field, r, r)
            if r["kind"] == "state":
                self.assertGreater(len(r), 4, r)  # something changed
                if "role" in r:
                    self.assertIn(r["role"], ROLES)
                self.assertIn(r["peer"], peers, r)
        return records, kinds

    def same_run_with_and_without_trace(self, binary, test, seed):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "trace.jsonl")
            rc_off, fp_off, _ = run(binary, test, seed)
            rc_on, fp_on, out = run(binary, test, seed, path)
            self.assertEqual(rc_on, 0, out)
            self.assertEqual(rc_off, rc_on)
            self.assertTrue(fp_off)
            self.assertEqual(fp_off, fp_on, f"{test} seed {seed}: tracing changed the schedule")
            self.assertIn(f"trace: {path}", out)
            return self.check_trace(path, test, seed)

    def test_raft_runs_replay_the_same_traced_and_traces_follow_the_schema(self):
        for test, seed in [("Raft2A.ReElection", 1), ("Raft2B.FailAgree", 2),
                           ("Raft2C.Figure8", 1), ("Raft2D.SnapshotInstallUnreliable", 3)]:
            with self.subTest(test=test, seed=seed):
                records, kinds = self.same_run_with_and_without_trace(RAFT_TEST, test, seed)
                self.assertTrue({"tester", "state", "rpc", "log"} <= kinds, kinds)
                if not test.startswith("Raft2A"):
                    self.assertIn("apply", kinds)
                self.assertTrue(records[-1]["passed"])

    def test_kv_runs_replay_the_same_traced_and_record_clerk_ops(self):
        for test, seed in [("KV3A.OnePartition", 1), ("KV3B.SnapshotRPC", 1), ("KV3B.SnapshotRPC", 2)]:
            with self.subTest(test=test, seed=seed):
                records, kinds = self.same_run_with_and_without_trace(KV_TEST, test, seed)
                self.assertIn("op", kinds)
                self.assertTrue(records[0]["clients"])
                calls = {r["id"] for r in records if r["kind"] == "op" and r["phase"] == "call"}
                returns = {r["id"] for r in records if r["kind"] == "op" and r["phase"] == "return"}
                self.assertEqual(calls, returns)
                senders = {r["from"] for r in records if r["kind"] == "rpc" and r["phase"] == "send"}
                self.assertTrue(set(records[0]["clients"]) <= senders, senders)

    def test_a_trace_that_cannot_be_written_says_so(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "no-such-dir", "t.jsonl")
            env = dict(os.environ, LAB_RUNTIME="sim", LAB_SEED="1", LAB_TRACE=path)
            p = subprocess.run([RAFT_TEST, "--gtest_filter=Raft2A.InitialElection"], env=env,
                               capture_output=True, text=True, timeout=600)
            self.assertEqual(p.returncode, 0, p.stdout)
            self.assertIn(f"lab: trace not written: cannot write {path}", p.stderr)

if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
