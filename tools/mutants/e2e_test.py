# tools/mutants/e2e_test.py
#
# End to end: runs the real tools/mutants/run (it builds with Bazel, so it
# cannot run inside `bazel test`: ./test runs it afterwards) on one known
# mutant, with one seed, and checks that it is reported killed, after the
# reference passed; then on a catalogue holding a mutant that no longer fits
# the reference, and checks that it is an ERROR by name, not a kill.
#
#   python3 -B tools/mutants/e2e_test.py     # about a minute once built
#
# It uses the default work folder (~/.cache/raftlabs/mutants), so the scratch
# tree's Bazel outputs stay warm between runs. Instructor-only, like the
# catalogue (labs/instructor_only.txt).

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RUN = ROOT / "tools" / "mutants" / "run"
# Applies entries out of order: the tester's applier fails it at once.
KNOWN = "applies_out_of_order"


def run(*args):
    r = subprocess.run([sys.executable, "-B", str(RUN), "--seeds", "1", *args], cwd=ROOT,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=3600)
    return r.returncode, r.stdout


class MutantsEndToEnd(unittest.TestCase):
    def test_a_known_mutant_is_killed_after_the_reference_passes(self):
        status, out = run("--only", KNOWN)
        self.assertEqual(status, 0, out)
        self.assertRegex(out, r"reference \(2A 2B 2C 2D\): passed")
        self.assertRegex(out, rf"(?m)^{KNOWN} +1 +Raft2[A-D]\.\w+ ")
        self.assertRegex(out, r"(?m)^1 killed, 0 survived, 0 equivalent, 0 errors; 1 mutants")

    def test_a_mutant_that_does_not_apply_is_an_error_not_a_kill(self):
        source = (ROOT / "tools" / "mutants" / "catalogue" / f"{KNOWN}.toml").read_text()
        stale = source.replace("apply_ch_->Send(std::move(msg));",
                               "apply_ch_->Send(std::move(message));")
        self.assertNotEqual(stale, source)
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "stale_applier.toml").write_text(stale)
            status, out = run("--catalogue", d, "--skip-reference")
        self.assertEqual(status, 2, out)
        self.assertRegex(out, r"(?m)^stale_applier +ERROR +does not apply")
        self.assertRegex(out, r"(?m)^0 killed, 0 survived, 0 equivalent, 1 errors")


if __name__ == "__main__":
    unittest.main()
