# grader/e2e_test.py
#
# End to end: runs the real ./grade on part 2A (sim, one seed) for the
# reference solution and for bad submissions made from it, and checks the
# verdicts: the reference scores full marks; a submission that exits early,
# hangs, crashes, floods its output or does not compile scores nothing, with
# a reason for every run, and ./grade still ends with "N passed, M failed".
#
# It runs Bazel (through ./grade), so it cannot run inside `bazel test`:
# ./test runs it afterwards. By hand:
#
#   python3 -B grader/e2e_test.py          # a few minutes on 2 cores
#
# The submissions differ only in raft/raft.cc, so after the first build in
# the pristine tree each one rebuilds little. Instructor-only: it needs the
# reference solution (labs/instructor_only.txt keeps it out of the handout).

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import tree as tree_lib  # noqa: E402

ANCHOR = "std::pair<int64_t, bool> Raft::GetState() {\n"
FINAL_LINE = re.compile(r"^(\d+) passed, (\d+) failed$")

# name -> (code put at the start of Raft::GetState, or None for a special
# case; the words every run's reason must contain)
BAD = {
    "exits-early": ("  std::exit(0);  // pretend all is well\n", "before GoogleTest finished"),
    "hangs": ("  for (volatile bool spin = true; spin;) {\n  }\n", "timed out"),
    "crashes": ("  volatile int* volatile p = nullptr;\n  *p = 1;\n", "crashed"),
    "floods": ("  for (;;) std::fputs(\"flood flood flood flood flood flood flood\\n\", stdout);\n",
               "more than 1 MiB of output"),
    "does-not-compile": (None, "did not build"),
}


def make_submission(directory: Path, raft_cc: str) -> None:
    (directory / "raft").mkdir(parents=True)
    (directory / "raft" / "raft.cc").write_text(raft_cc)
    (directory / "raft" / "raft.h").write_text((ROOT / "raft" / "raft.h").read_text())


class GradeSubmissionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="raftlabs-e2e-")
        cls.dir = Path(cls.tmp.name)
        cls.reference = (ROOT / "raft" / "raft.cc").read_text()
        if ANCHOR not in cls.reference:
            raise AssertionError(f"raft/raft.cc no longer has {ANCHOR.strip()!r}: update {__file__}")

    @classmethod
    def tearDownClass(cls):
        # The grader leaves the pristine tree's Bazel server to time out by
        # itself; a test run should not leave one behind.
        pristine = tree_lib.pristine_path(tree_lib.cache_root(), ROOT)
        if pristine.exists():
            subprocess.run(["bazel", "shutdown"], cwd=pristine, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.tmp.cleanup()

    def grade(self, name: str, raft_cc: str, extra_files=None):
        sub = self.dir / name
        make_submission(sub, raft_cc)
        for rel, text in (extra_files or {}).items():
            (sub / rel).parent.mkdir(parents=True, exist_ok=True)
            (sub / rel).write_text(text)
        results = self.dir / f"{name}.json"
        gradescope = self.dir / f"{name}-gradescope.json"
        junit = self.dir / f"{name}.xml"
        t0 = time.monotonic()
        r = subprocess.run(
            [str(ROOT / "grade"), "2A", "--submission", str(sub), "--runtime", "sim",
             "--seeds", "1", "--timeout-scale", "0.1", "--output-limit", "1",
             "--json", str(results), "--gradescope", str(gradescope), "--junit", str(junit)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", timeout=900)
        print(f"e2e: {name}: exit {r.returncode} in {time.monotonic() - t0:.0f} s", flush=True)
        last = r.stdout.rstrip("\n").rsplit("\n", 1)[-1]
        self.assertRegex(last, FINAL_LINE, f"{name}: the last line is not the summary:\n{r.stdout}")
        doc = json.loads(results.read_text())
        json.loads(gradescope.read_text())
        self.assertTrue(junit.read_text().startswith("<?xml"))
        return r, doc

    def test_reference_scores_full_marks(self):
        r, doc = self.grade("reference", self.reference,
                            {"raft/config.cc": "// a tester of my own\n", "notes.txt": "hi\n"})
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual((doc["score"], doc["max_score"]), (15, 15), r.stdout)
        self.assertTrue(doc["complete"])
        self.assertEqual(doc["failed_runs"], 0)
        self.assertTrue(r.stdout.rstrip().endswith("3 passed, 0 failed"), r.stdout)
        self.assertIn("ignored raft/config.cc (not a student-editable file)", r.stdout)
        self.assertIn("ignored notes.txt", r.stdout)
        self.assertEqual(doc["warnings"], [])

    def check_bad(self, name):
        code, words = BAD[name]
        if code is None:
            raft_cc = self.reference + "\nthis line is not C++;\n"
        else:
            raft_cc = "#include <cstdio>\n#include <cstdlib>\n" + self.reference.replace(ANCHOR, ANCHOR + code, 1)
        r, doc = self.grade(name, raft_cc)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(doc["score"], 0, r.stdout)
        self.assertEqual((doc["passed_runs"], doc["failed_runs"]), (0, 3), r.stdout)
        for run in doc["runs"]:
            self.assertIn(words, run["reason"], f"{name}: {run['test']}: {run['reason']}")
        self.assertTrue(r.stdout.rstrip().endswith("0 passed, 3 failed"), r.stdout)
        return r, doc

    def test_exits_early(self):
        r, doc = self.check_bad("exits-early")
        self.assertTrue(any("ends the process" in w for w in doc["warnings"]), doc["warnings"])
        self.assertIn("replay: ./grade --replay 1 Raft2A.", r.stdout)

    def test_hangs(self):
        self.check_bad("hangs")

    def test_crashes(self):
        self.check_bad("crashes")

    def test_floods(self):
        self.check_bad("floods")

    def test_does_not_compile(self):
        r, _ = self.check_bad("does-not-compile")
        self.assertIn("raft/raft.cc", r.stdout)  # the compiler's message names the file


if __name__ == "__main__":
    unittest.main(verbosity=2)
