# grader/verdict_test.py: a run passes only on positive evidence (exit 0,
# GoogleTest's report listing the test as completed, no premature-exit file).

import json
import os
import signal
import unittest

from grader import verdict
from grader.testing import TempDir

TEST = "Raft2A.ReElection"


def report(status="RUN", result="COMPLETED", failures=None, name="ReElection"):
    case = {"name": name, "status": status, "result": result, "classname": "Raft2A"}
    if failures:
        case["failures"] = [{"failure": f, "type": ""} for f in failures]
    return {"testsuites": [{"name": "Raft2A", "testsuite": [case]}]}


class JudgeTest(unittest.TestCase):
    def judge(self, rc, doc=None, timed_out=False, tail="", premature=False, output_bytes=10,
              raw=None):
        with TempDir() as d:
            path = os.path.join(d, "report.json")
            if doc is not None:
                with open(path, "w") as f:
                    json.dump(doc, f)
            if raw is not None:
                with open(path, "w") as f:
                    f.write(raw)
            pre = os.path.join(d, "premature")
            if premature:
                open(pre, "w").close()
            obs = verdict.Observation(rc, timed_out, 60, 1.0, path, pre, tail, output_bytes,
                                      32 << 20, 4096 << 20)
            return verdict.judge(obs, TEST)

    def test_pass_needs_exit_zero_and_a_completed_report(self):
        self.assertEqual(self.judge(0, report()), verdict.Verdict(True, ""))

    def test_early_exit_zero_without_report_fails(self):
        v = self.judge(0, None, tail="[       OK ] Raft2A.ReElection\n[  PASSED  ] 1 test.\n")
        self.assertFalse(v.passed)
        self.assertIn("before GoogleTest finished", v.reason)

    def test_premature_exit_file_fails(self):
        v = self.judge(0, report(), premature=True)
        self.assertFalse(v.passed)
        self.assertIn("premature-exit", v.reason)

    def test_report_failures(self):
        v = self.judge(1, report(failures=["raft/config.cc:10\nexpected one leader, got none"]))
        self.assertFalse(v.passed)
        self.assertTrue(v.reason.startswith("failed: "))
        self.assertEqual(v.reason, "failed: expected one leader, got none (at raft/config.cc:10)")
        v = self.judge(1, report(failures=["kvraft/kvraft_test.cc:334\nFailed\nGet did not complete"]))
        self.assertEqual(v.reason, "failed: Get did not complete (at kvraft/kvraft_test.cc:334)")
        self.assertFalse(self.judge(0, report(failures=["x"])).passed)

    def test_report_must_list_this_test_completed(self):
        self.assertIn("does not list", self.judge(0, report(name="Other")).reason)
        self.assertIn("did not complete", self.judge(0, report(result="SKIPPED")).reason)
        self.assertIn("did not run", self.judge(0, report(status="NOTRUN")).reason)
        self.assertIn("unreadable", self.judge(0, raw="{not json").reason)
        self.assertIn("malformed", self.judge(0, {"testsuites": [1]}).reason)

    def test_signals_timeouts_and_floods(self):
        self.assertIn("SIGSEGV", self.judge(-signal.SIGSEGV).reason)
        v = self.judge(-signal.SIGABRT, tail="terminate called after throwing 'std::bad_alloc'\n")
        self.assertIn("out of memory", v.reason)
        self.assertIn("timed out", self.judge(None, timed_out=True).reason)
        # SIGXFSZ with little output: a big file written elsewhere, not a flood.
        v = self.judge(-signal.SIGXFSZ)
        self.assertIn("wrote a file larger than 32 MiB", v.reason)
        self.assertNotIn("printed", v.reason)
        self.assertIn("printed more than 32 MiB",
                      self.judge(-signal.SIGXFSZ, output_bytes=32 << 20).reason)
        self.assertIn("more than 32 MiB", self.judge(0, report(), output_bytes=32 << 20).reason)
        self.assertIn("CPU", self.judge(-signal.SIGXCPU).reason)

    def test_runtime_exit_codes(self):
        self.assertIn("stuck task", self.judge(3, tail="lab: task 'x' never blocks\n").reason)
        self.assertIn("rejected its settings", self.judge(2, tail="lab: LAB_SEED bad\n").reason)
        self.assertIn("exit status 7", self.judge(7).reason)
        self.assertIn("although GoogleTest passed", self.judge(1, report()).reason)


if __name__ == "__main__":
    unittest.main()
