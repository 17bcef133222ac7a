# grader/score_test.py: a test earns its points only when all its planned
# runs passed; partial results earn nothing yet; run counts.

import unittest
from pathlib import Path

from grader import rubric, runner, score

LIMITS = {"sim": 60.0, "threads": 180.0}
PART = rubric.Part("2A", "Leader election", "//raft:raft_test", (), (
    rubric.Test("Raft2A.A", 5, LIMITS, 1), rubric.Test("Raft2A.B", 10, LIMITS, 2)), Path("x"))


def result(test, passed, seconds=1.0, seed=1):
    job = runner.Job(0, "2A", test, "sim", seed, 60, "bin")
    return runner.Result(job, passed, "" if passed else "failed: x", seconds, "log", "")


class ScoreTest(unittest.TestCase):
    def test_all_runs_must_pass(self):
        s = score.summarize([PART], {"Raft2A.A": 2, "Raft2A.B": 2}, [
            result("Raft2A.A", True, 1.0), result("Raft2A.A", True, 3.0),
            result("Raft2A.B", True), result("Raft2A.B", False)])
        p = s.parts["2A"]
        self.assertEqual(p.score, 5)
        self.assertEqual(p.max_score, 15)
        self.assertEqual((s.passed_runs, s.failed_runs, s.planned_runs), (3, 1, 4))
        a, b = p.tests
        self.assertEqual((a.status, a.mean_seconds, a.max_seconds), ("passed", 2.0, 3.0))
        self.assertEqual((b.status, b.points, b.failures), ("failed", 0, 1))
        self.assertEqual(s.total, 5)
        self.assertEqual(s.max_total, 15)

    def test_partial_results_earn_nothing_yet(self):
        s = score.summarize([PART], {"Raft2A.A": 2, "Raft2A.B": 2}, [result("Raft2A.A", True)])
        a, b = s.parts["2A"].tests
        self.assertEqual((a.status, a.points), ("not run", 0))
        self.assertEqual((b.status, b.runs), ("not run", 0))
        self.assertEqual(s.total, 0)

    def test_unknown_results_are_ignored(self):
        s = score.summarize([PART], {"Raft2A.A": 1, "Raft2A.B": 1}, [result("Other.X", False)])
        self.assertEqual(s.failed_runs, 0)


if __name__ == "__main__":
    unittest.main()
