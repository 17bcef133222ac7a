# grader/verdict_test.py: a run passes only on positive evidence (exit 0,
# GoogleTest's report listing the test as completed, no premature-exit file,
# the tester's completion line with the run's nonce), and the report is
# evidence the run wrote: never trusted, never able to hang or crash the grader.

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


class Judging(unittest.TestCase):
    def judge(self, rc, doc=None, timed_out=False, tail="", premature=False, output_bytes=10,
              raw=None, nonce="", log=b"", make_report=None):
        with TempDir() as d:
            path = os.path.join(d, "report.json")
            if make_report is not None:
                make_report(path)
            if doc is not None:
                with open(path, "w") as f:
                    json.dump(doc, f)
            if raw is not None:
                with open(path, "w") as f:
                    f.write(raw)
            pre = os.path.join(d, "premature")
            if premature:
                open(pre, "w").close()
            log_path = os.path.join(d, "log")
            with open(log_path, "wb") as f:
                f.write(log)
            obs = verdict.Observation(rc, timed_out, 60, 1.0, path, pre, tail, output_bytes,
                                      32 << 20, 4096 << 20, log_path=log_path, nonce=nonce)
            return verdict.judge(obs, TEST)


class JudgeTest(Judging):
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


class UntrustedReportTest(Judging):
    """Items 6-7 of issue 15: whatever sits where the report should be, the
    grader neither hangs nor crashes, and the run fails with the reason."""

    def test_a_fifo_fails_without_blocking(self):
        v = self.judge(0, make_report=os.mkfifo)
        self.assertEqual(v, verdict.Verdict(False, "GoogleTest's report is not a regular file "
                                                   "(not trusted)"))

    def test_a_link_is_not_followed(self):
        with TempDir() as d:
            target = os.path.join(d, "real.json")
            with open(target, "w") as f:
                json.dump(report(), f)
            v = self.judge(0, make_report=lambda p: os.symlink(target, p))
        self.assertFalse(v.passed)
        self.assertIn("symbolic link", v.reason)

    def test_a_huge_report_is_not_read(self):
        def big(path):
            with open(path, "wb") as f:
                f.truncate(verdict.MAX_REPORT_BYTES + 1)
        v = self.judge(0, make_report=big)
        self.assertFalse(v.passed)
        self.assertIn("over 4 MiB", v.reason)

    def test_wrong_types_are_a_failed_run_not_a_crash(self):
        for doc in ([], "x", {"testsuites": "x"}, {"testsuites": [{"testsuite": 3}]},
                    {"testsuites": [{"name": "Raft2A", "testsuite": ["x"]}]},
                    {"testsuites": [{"name": "Raft2A", "testsuite": [
                        {"name": "ReElection", "failures": 5}]}]},
                    {"testsuites": [{"name": "Raft2A", "testsuite": [
                        {"name": "ReElection", "failures": ["not a dict"]}]}]}):
            v = self.judge(0, doc)
            self.assertFalse(v.passed, doc)
            self.assertTrue(v.reason, doc)
        self.assertIn("malformed", self.judge(0, []).reason)
        self.assertIn("unreadable", self.judge(0, raw="[" * 100000).reason)
        self.assertIn("unreadable", self.judge(0, raw="\xff\xfe garbage").reason)

    def test_judge_never_raises(self):
        obs = verdict.Observation(0, False, 60, 1.0, None, None, "", 0, 1, 1)
        v = verdict.judge(obs, TEST)
        self.assertFalse(v.passed)
        self.assertIn("could not judge", v.reason)


class CompletionChannelTest(Judging):
    """Items 1-3: with a nonce, a passing report is not enough: the tester's
    completion line with that nonce must be in the output."""

    NONCE = "0123456789abcdef0123456789abcdef"

    def test_a_forged_report_without_the_line_fails(self):
        v = self.judge(0, report(), nonce=self.NONCE,
                       log=b"[       OK ] Raft2A.ReElection\nlab-grade guess passed Raft2A.ReElection\n")
        self.assertFalse(v.passed)
        self.assertIn("never reported the test's completion", v.reason)

    def test_the_line_for_another_test_does_not_count(self):
        v = self.judge(0, report(), nonce=self.NONCE,
                       log=verdict.completion_line(self.NONCE, "Raft2A.InitialElection"))
        self.assertFalse(v.passed)

    def test_the_line_with_the_nonce_passes_even_deep_in_the_output(self):
        log = b"x" * (3 << 20) + verdict.completion_line(self.NONCE, TEST) + b"y" * 100
        self.assertEqual(self.judge(0, report(), nonce=self.NONCE, log=log),
                         verdict.Verdict(True, ""))


if __name__ == "__main__":
    unittest.main()
