# grader/trace_test.py: which runs record traces, and how a failed sim run's
# trace is made by a traced replay and saved beside its log.

import os
import tempfile
import types
import unittest

from grader import runner, trace

# A small valid trace (trace/SCHEMA.md), as a traced run writes one.
TRACE = "\n".join([
    '{"kind":"run","t":0,"seq":0,"schema":1,"test":"Raft2A.ReElection","runtime":"sim",'
    '"seed":7,"peers":["0","1","2"],"clients":[],"replay":"./grade --replay 7 Raft2A.ReElection"}',
    '{"kind":"state","t":0,"seq":1,"peer":"0","term":1,"role":"leader"}',
    '{"kind":"failure","t":5000,"seq":2,"text":"expected one leader, got none"}',
    '{"kind":"end","t":5000,"seq":3,"passed":false,"dropped":0}',
]) + "\n"


def result(job, passed, fingerprint="ab", trace_path="", log_path="x.log"):
    return runner.Result(job, passed, "" if passed else "failed", 1.0, log_path, "", fingerprint,
                         None, trace_path)


class FakeRunner:
    """Replays by writing a trace file per job; remembers the jobs."""

    def __init__(self, tmp, fingerprint="ab", passed=False):
        self.tmp, self.fingerprint, self.passed, self.jobs = tmp, fingerprint, passed, []

    def run_all(self, jobs):
        self.jobs.extend(jobs)
        out = []
        for j in jobs:
            path = os.path.join(self.tmp, f"run{j.index}.trace.jsonl")
            with open(path, "w") as f:
                f.write(TRACE)
            out.append(result(j, self.passed, self.fingerprint, path))
        return out


def grade(results):
    return types.SimpleNamespace(results=results, notes=[], say=lambda text="": None)


class TraceTest(unittest.TestCase):
    def test_threads_runs_are_traced_with_logs_sim_runs_are_not(self):
        args = types.SimpleNamespace(logs="out", trace=None)
        self.assertTrue(trace.traced_from_the_start(args, "threads"))
        self.assertFalse(trace.traced_from_the_start(args, "sim"))
        self.assertFalse(trace.traced_from_the_start(types.SimpleNamespace(logs=None, trace=None),
                                                     "threads"))
        self.assertTrue(trace.traced_from_the_start(types.SimpleNamespace(logs=None, trace="t"),
                                                    "sim"))

    def test_failed_sim_runs_are_replayed_traced_and_saved_beside_the_log(self):
        failed = runner.Job(1, "2A", "Raft2A.ReElection", "sim", 7, 60, "bin", 30.0)
        passed = runner.Job(2, "2A", "Raft2A.InitialElection", "sim", 7, 60, "bin")
        with tempfile.TemporaryDirectory() as tmp:
            logs = os.path.join(tmp, "logs")
            fake = FakeRunner(tmp)
            g = grade([result(failed, False), result(passed, True)])
            self.assertTrue(trace.trace_failed_sim_runs(g, fake, logs))
            self.assertEqual([j.test for j in fake.jobs], ["Raft2A.ReElection"])
            replay = fake.jobs[0]
            self.assertTrue(replay.trace)
            self.assertIsNone(replay.cpu_budget)
            self.assertEqual(replay.limit, 120)
            # The trace, and its timeline beside it.
            self.assertEqual(sorted(os.listdir(logs)), ["Raft2A.ReElection-sim-seed7.html",
                                                        "Raft2A.ReElection-sim-seed7.trace.jsonl"])
            with open(os.path.join(logs, "Raft2A.ReElection-sim-seed7.html")) as f:
                self.assertIn("expected one leader, got none", f.read())
            self.assertEqual(g.notes, [])

    def test_a_replay_that_differs_is_noted(self):
        job = runner.Job(1, "2A", "Raft2A.ReElection", "sim", 7, 60, "bin")
        with tempfile.TemporaryDirectory() as tmp:
            g = grade([result(job, False, fingerprint="ab")])
            trace.trace_failed_sim_runs(g, FakeRunner(tmp, fingerprint="cd"), tmp)
            self.assertEqual(len(g.notes), 1)
            self.assertIn("did not repeat the failure exactly", g.notes[0])

    def test_a_trace_that_cannot_be_read_gets_no_page_and_a_reason(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = os.path.join(tmp, "bad.jsonl")
            with open(bad, "w") as f:
                f.write("not json\nnor this\n")
            problem = trace.write_page(bad, os.path.join(tmp, "p.html"))
            self.assertIn("cannot write the timeline", problem)
            self.assertFalse(os.path.exists(os.path.join(tmp, "p.html")))

    def test_columns_print_one_column_per_peer(self):
        import io
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.jsonl")
            with open(path, "w") as f:
                f.write(TRACE)
            out = io.StringIO()
            self.assertEqual(trace.print_columns(path, out), "")
            self.assertIn("expected one leader, got none", out.getvalue())

    def test_html_and_columns_trace_the_replay_from_the_start(self):
        for extra in ({"html": "p.html"}, {"columns": True}):
            args = types.SimpleNamespace(logs=None, trace=None, **extra)
            self.assertTrue(trace.traced_from_the_start(args, "sim"))

    def test_replay_trace_is_copied_to_the_file_asked_for(self):
        job = runner.Job(1, "2A", "T", "sim", 7, 60, "bin", trace=True)
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "src.jsonl")
            with open(src, "w") as f:
                f.write("x\n")
            dest = os.path.join(tmp, "mine.jsonl")
            self.assertEqual(trace.save_replay_trace(result(job, False, trace_path=src), dest),
                             f"trace: {dest}")
            self.assertTrue(os.path.exists(dest))
            self.assertIn("no trace", trace.save_replay_trace(result(job, False), dest))


if __name__ == "__main__":
    unittest.main()
