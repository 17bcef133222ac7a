# grader/sandbox_test.py: the runner and its sandbox on stand-in "test
# binaries" (shell scripts): a pass needs the report, a hang is killed at
# its limit, a flood at the output cap, and nothing a run starts survives it.

import os
import stat
import time
import unittest
from pathlib import Path

from grader import runner, sandbox
from grader.testing import TempDir

# Writes GoogleTest's report (for the test named by --gtest_filter) and exits 0.
PASS = r"""#!/bin/sh
for a in "$@"; do case "$a" in --gtest_output=json:*) out="${a#--gtest_output=json:}";; esac; done
printf '{"testsuites":[{"name":"S","testsuite":[{"name":"T","status":"RUN","result":"COMPLETED"}]}]}' > "$out"
echo "[  PASSED  ] 1 test."
"""
SCRIPTS = {
    "pass": PASS,
    "early_exit": "#!/bin/sh\necho '[  PASSED  ] 1 test.'\nexit 0\n",
    "hang": "#!/bin/sh\nwhile :; do sleep 1; done\n",
    "flood": "#!/bin/sh\nyes 'spam spam spam spam spam spam spam'\n",
    "crash": "#!/bin/sh\nkill -SEGV $$\n",
    # Leaves a child behind, in a new session, then passes.
    "orphan": "#!/bin/sh\nsetsid sh -c 'sleep 300' </dev/null >/dev/null 2>&1 &\n" + PASS.split("\n", 1)[1],
}


class RunnerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = sandbox.Sandbox.detect()

    def run_jobs(self, names, limit=5.0, output_mib=1):
        with TempDir() as d:
            bin_dir = d / "bin" / "pkg"
            bin_dir.mkdir(parents=True)
            os.chmod(d, 0o755)
            os.chmod(d / "bin", 0o755)
            os.chmod(bin_dir, 0o755)
            jobs = []
            for i, name in enumerate(names):
                path = bin_dir / name
                path.write_text(SCRIPTS[name])
                path.chmod(0o755)
                jobs.append(runner.Job(i, "2A", "S.T", "sim", 1, limit, str(path)))
            r = runner.Runner(self.box, d / "work", parallel=2,
                              settings=runner.RunSettings(memory_mib=1024, output_mib=output_mib,
                                                          processes=256))
            t0 = time.monotonic()
            results = {res.job.index: res for res in r.run_all(jobs)}
            self.elapsed = time.monotonic() - t0
            return [results[i] for i in range(len(names))]

    def test_verdicts(self):
        passed, early, hang, flood, crash = self.run_jobs(
            ["pass", "early_exit", "hang", "flood", "crash"], limit=3.0)
        self.assertTrue(passed.passed, passed.reason)
        self.assertIn("PASSED", passed.log_tail)
        self.assertFalse(early.passed)
        self.assertIn("before GoogleTest finished", early.reason)
        self.assertFalse(hang.passed)
        self.assertIn("timed out", hang.reason)
        self.assertLess(hang.seconds, 6)
        self.assertFalse(flood.passed)
        self.assertIn("more than 1 MiB", flood.reason)
        self.assertLessEqual(os.path.getsize(flood.log_path) if os.path.exists(flood.log_path) else 0,
                             1 << 20)
        self.assertFalse(crash.passed)
        self.assertIn("SIGSEGV", crash.reason)
        self.assertLess(self.elapsed, 20)

    def test_nothing_survives_a_run(self):
        before = _sleepers()
        (orphan,) = self.run_jobs(["orphan"])
        self.assertTrue(orphan.passed, orphan.reason)
        time.sleep(0.2)
        self.assertEqual(_sleepers() - before, set())

    def test_describe_says_whether_bubblewrap_is_used(self):
        text = self.box.describe()
        self.assertIn("bubblewrap", text)


class RunnerWithoutBubblewrapTest(RunnerTest):
    """The same guarantees with only process groups, rlimits and (as root) uids."""

    @classmethod
    def setUpClass(cls):
        cls.box = sandbox.Sandbox.detect(use_bwrap=False)


def _sleepers():
    """pids of `sleep 300` processes."""
    out = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if f.read().split(b"\0")[:2] == [b"sleep", b"300"]:
                        out.add(pid)
            except OSError:
                pass
    return out


if __name__ == "__main__":
    unittest.main()
