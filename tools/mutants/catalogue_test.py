# tools/mutants/catalogue_test.py
#
# The mutant catalogue fits the current reference (every mutant parses,
# applies exactly and changes its file, inside a solution region), a patch
# that no longer fits is reported by the mutant's name, and a sweep reports
# the first failing run in (seed, rubric order) whatever order runs finish in.

from __future__ import annotations

import unittest
from pathlib import Path

from grader import rubric
from grader import runner as runner_lib
from grader import testing
from tools.mutants import catalogue
from tools.mutants import sweep

ROOT = testing.tree_root()
CATALOGUE = ROOT / "tools" / "mutants" / "catalogue"


def mutant_file(directory: Path, name: str, body: str) -> Path:
    return testing.write_files(directory, {f"{name}.toml": body}) / f"{name}.toml"


GOOD = '''
description = "reads the wrong variable"
rule = "a rule"
file = "raft/raft.cc"

[[edit]]
find = """
  int x = a;
"""
replace = """
  int x = b;
"""
'''


class CatalogueTest(unittest.TestCase):
    def test_the_catalogue_has_at_least_25_mutants_of_both_labs(self):
        mutants = catalogue.load(CATALOGUE)
        self.assertGreaterEqual(len(mutants), 25)
        files = {m.file for m in mutants}
        self.assertIn("raft/raft.cc", files)
        self.assertIn("kvraft/server.cc", files)

    def test_every_mutant_applies_to_the_reference_and_changes_it(self):
        rubrics = rubric.load_catalogue(ROOT / "labs")
        students = rubric.load_student_files(ROOT / "labs" / "student_files.txt", set(rubrics))
        for m in catalogue.load(CATALOGUE):
            with self.subTest(mutant=m.name):
                original = (ROOT / m.file).read_text(encoding="utf-8")
                mutated = catalogue.apply(m, original)
                self.assertNotEqual(mutated, original)
                plan = sweep.Plan.for_file(rubrics, students, m.file)
                self.assertTrue(plan.tests)

    def test_every_edit_lies_inside_a_solution_region(self):
        for m in catalogue.load(CATALOGUE):
            text = (ROOT / m.file).read_text(encoding="utf-8")
            for edit in m.edits:
                before = text[:text.index(edit.find)]
                depth = before.count("// BEGIN SOLUTION") - before.count("// END SOLUTION")
                with self.subTest(mutant=m.name):
                    self.assertGreater(depth, 0, f"{m.name} edits code outside the reference solution")

    def test_a_snippet_missing_from_the_file_does_not_apply_by_name(self):
        with testing.TempDir() as d:
            m = catalogue.load_file(mutant_file(d, "wrong_variable", GOOD))
            with self.assertRaises(catalogue.DoesNotApply) as e:
                catalogue.apply(m, "void f() {\n  int x = c;\n}\n")
            self.assertEqual(e.exception.name, "wrong_variable")
            self.assertIn("is not in raft/raft.cc", str(e.exception))

    def test_a_snippet_found_twice_does_not_apply(self):
        with testing.TempDir() as d:
            m = catalogue.load_file(mutant_file(d, "wrong_variable", GOOD))
            with self.assertRaises(catalogue.DoesNotApply) as e:
                catalogue.apply(m, "  int x = a;\n  int x = a;\n")
            self.assertIn("occurs 2 times", str(e.exception))
            self.assertEqual(catalogue.apply(m, "{\n  int x = a;\n}\n"), "{\n  int x = b;\n}\n")

    def test_malformed_mutants_name_their_file(self):
        cases = {
            "no_edit": GOOD.split("[[edit]]")[0],
            "unknown_key": GOOD.replace('rule = "a rule"', 'rule = "a rule"\nseverity = 3'),
            "no_rule": GOOD.replace('rule = "a rule"\n', ""),
            "BadName": GOOD,
        }
        with testing.TempDir() as d:
            for name, body in cases.items():
                with self.subTest(case=name):
                    with self.assertRaises(catalogue.CatalogueError) as e:
                        catalogue.load_file(mutant_file(d, name, body))
                    self.assertIn(f"{name}.toml", str(e.exception))


class FakeRunner:
    """Finishes each batch's runs in reverse order; fails (seed, test) pairs."""

    def __init__(self, failing):
        self.failing = set(failing)
        self.ran = []

    def run_all(self, jobs, on_done=None, on_tick=None):
        for job in reversed(jobs):
            self.ran.append((job.seed, job.test))
            failed = (job.seed, job.test) in self.failing
            on_done(runner_lib.Result(job, not failed, "failed" if failed else "", 1.0, "log", ""))


PLAN = sweep.Plan(("2A",), tuple(sweep.PlannedTest("2A", t, "//raft:raft_test", 60.0)
                                 for t in ("T.First", "T.Second", "T.Third")))


class SweepTest(unittest.TestCase):
    def test_the_kill_is_the_earliest_failing_run_and_later_seeds_do_not_run(self):
        runner = FakeRunner({(2, "T.Third"), (2, "T.Second"), (3, "T.First")})
        outcome = sweep.sweep(runner, PLAN, {"//raft:raft_test": "bin"}, range(1, 6))
        self.assertTrue(outcome.killed)
        self.assertEqual((outcome.seed, outcome.test), (2, "T.Second"))
        self.assertNotIn(3, {seed for seed, _ in runner.ran})

    def test_a_mutant_that_passes_every_seed_survives(self):
        runner = FakeRunner(set())
        outcome = sweep.sweep(runner, PLAN, {"//raft:raft_test": "bin"}, range(1, 4))
        self.assertFalse(outcome.killed)
        self.assertEqual(outcome.runs, 9)


if __name__ == "__main__":
    unittest.main()
