# grader/rubric_test.py: the rubric and file-list readers, on the real
# catalogue and on malformed ones (every error names file and line).

import unittest
from pathlib import Path

from grader import rubric
from grader.testing import TempDir, tree_root, write_files

GOOD = """\
part = "2A"
title = "Leader election"
target = "//raft:raft_test"
requires = []
limits = { sim = 60, threads = 180 }

[[tests]]
name = "Raft2A.InitialElection"
points = 5

[[tests]]
name = "Raft2A.ReElection"
points = 10
limits = { threads = 300 }
"""


class RealCatalogueTest(unittest.TestCase):
    def test_every_part_loads(self):
        root = tree_root()
        catalogue = rubric.load_catalogue(root / "labs")
        self.assertEqual(list(catalogue), ["2A", "2B", "2C", "2D", "3A", "3B"])
        for part in catalogue.values():
            self.assertTrue(part.tests)
            self.assertGreater(part.max_points, 0)
            for t in part.tests:
                self.assertTrue(t.name.startswith(("Raft" + part.name, "KV" + part.name)), t.name)
                self.assertGreater(t.limit("sim"), 0)
                self.assertGreater(t.limit("threads"), 0)
        self.assertEqual(rubric.requirements(catalogue, "2C"), ["2A", "2B"])

    def test_student_files_and_patterns_load(self):
        root = tree_root()
        files = rubric.load_student_files(root / "labs" / "student_files.txt",
                                          {"2A", "2B", "2C", "2D", "3A", "3B"})
        paths = [f.path for f in files]
        self.assertIn("raft/raft.cc", paths)
        self.assertIn("kvraft/server.cc", paths)
        self.assertTrue(rubric.load_patterns(root / "labs" / "instructor_only.txt"))


class MalformedTest(unittest.TestCase):
    def load(self, text, part="2A"):
        with TempDir() as d:
            write_files(d, {f"{part}/rubric.toml": text})
            return rubric.load_part(d / part / "rubric.toml")

    def error(self, text, part="2A"):
        with self.assertRaises(rubric.RubricError) as cm:
            self.load(text, part)
        return cm.exception

    def test_good(self):
        p = self.load(GOOD)
        self.assertEqual(p.name, "2A")
        self.assertEqual([t.name for t in p.tests], ["Raft2A.InitialElection", "Raft2A.ReElection"])
        self.assertEqual(p.max_points, 15)
        self.assertEqual(p.tests[1].limit("threads"), 300)
        self.assertEqual(p.tests[1].limit("sim"), 60)  # inherited

    def test_cpu_budget_per_part_and_per_test(self):
        self.assertIsNone(self.load(GOOD).tests[0].cpu_budget)  # no budget unless given
        text = GOOD.replace('requires = []', 'requires = []\ncpu_budget = 10').replace(
            'points = 10', 'points = 10\ncpu_budget = 2.5')
        p = self.load(text)
        self.assertEqual([t.cpu_budget for t in p.tests], [10, 2.5])
        e = self.error(GOOD.replace('points = 10', 'points = 10\ncpu_budget = 0'))
        self.assertEqual(e.line, 14)
        self.assertIn("cpu_budget must be a positive number", str(e))

    def test_race_mode_is_off_unless_the_rubric_asks(self):
        self.assertFalse(self.load(GOOD).race)
        self.assertTrue(self.load(GOOD.replace('requires = []', 'requires = []\nrace = true')).race)
        e = self.error(GOOD.replace('requires = []', 'requires = []\nrace = "yes"'))
        self.assertEqual(e.line, 5)
        self.assertIn("race must be true or false", str(e))

    def test_toml_syntax_error_has_its_line(self):
        e = self.error(GOOD.replace('points = 10', 'points == 10'))
        self.assertEqual(e.line, 13)
        self.assertIn("rubric.toml:13:", str(e))
        self.assertIn("not valid TOML", str(e))

    def test_unknown_key_in_a_test(self):
        e = self.error(GOOD.replace('points = 10', 'points = 10\npoint = 3'))
        self.assertEqual(e.line, 14)
        self.assertIn("'point'", str(e))

    def test_unknown_top_level_key(self):
        e = self.error(GOOD.replace('title =', 'titel ='))
        self.assertEqual(e.line, 2)

    def test_bad_points(self):
        e = self.error(GOOD.replace('points = 10', 'points = "ten"'))
        self.assertEqual(e.line, 13)
        self.assertIn("points", str(e))
        self.assertEqual(self.error(GOOD.replace('points = 10', 'points = -1')).line, 13)

    def test_bad_limits(self):
        e = self.error(GOOD.replace('limits = { threads = 300 }', 'limits = { thread = 300 }'))
        self.assertEqual(e.line, 14)
        self.assertIn("unknown runtime", str(e))
        e = self.error(GOOD.replace('limits = { sim = 60, threads = 180 }', 'limits = { sim = 60 }'))
        self.assertEqual(e.line, 5)
        self.assertIn("threads", str(e))
        self.assertEqual(self.error(GOOD.replace("sim = 60", "sim = 0")).line, 5)

    def test_bad_names(self):
        self.assertEqual(self.error(GOOD.replace('"Raft2A.ReElection"', '"ReElection"')).line, 12)
        e = self.error(GOOD.replace('"Raft2A.ReElection"', '"Raft2A.InitialElection"'))
        self.assertIn("twice", str(e))
        self.assertEqual(self.error(GOOD.replace('"//raft:raft_test"', '"raft_test"')).line, 3)
        self.assertIn("folder", str(self.error(GOOD, part="2B")))

    def test_missing_pieces(self):
        self.assertIn("missing key 'target'", str(self.error(GOOD.replace('target = "//raft:raft_test"\n', ''))))
        no_tests = GOOD.split("[[tests]]")[0]
        self.assertIn("missing key 'tests'", str(self.error(no_tests)))
        e = self.error(GOOD.replace('points = 5\n', ''))
        self.assertEqual(e.line, 7)
        self.assertIn("no points", str(e))

    def test_catalogue_checks_requires(self):
        with TempDir() as d:
            write_files(d, {"2A/rubric.toml": GOOD.replace("requires = []", 'requires = ["2X"]')})
            with self.assertRaises(rubric.RubricError) as cm:
                rubric.load_catalogue(d)
            self.assertEqual(cm.exception.line, 4)
            self.assertIn("unknown part", str(cm.exception))
        with TempDir() as d:
            b = GOOD.replace('"2A"', '"2B"', 1).replace("Raft2A", "Raft2B").replace("requires = []", 'requires = ["2A"]')
            a = GOOD.replace("requires = []", 'requires = ["2B"]')
            write_files(d, {"2A/rubric.toml": a, "2B/rubric.toml": b})
            with self.assertRaises(rubric.RubricError) as cm:
                rubric.load_catalogue(d)
            self.assertIn("cycle", str(cm.exception))
        with TempDir() as d:
            b = GOOD.replace('"2A"', '"2B"', 1)
            write_files(d, {"2A/rubric.toml": GOOD, "2B/rubric.toml": b})
            with self.assertRaises(rubric.RubricError) as cm:
                rubric.load_catalogue(d)
            self.assertIn("already in part 2A", str(cm.exception))
            self.assertIn("2B/rubric.toml:8:", str(cm.exception))


class FileListTest(unittest.TestCase):
    def test_student_files(self):
        with TempDir() as d:
            write_files(d, {"s.txt": "# comment\n\nraft/raft.cc 2A 2B  # trailing\nraft/raft.h\n"})
            files = rubric.load_student_files(d / "s.txt", {"2A", "2B"})
            self.assertEqual([(f.path, f.parts, f.line) for f in files],
                             [("raft/raft.cc", ("2A", "2B"), 3), ("raft/raft.h", (), 4)])

    def test_student_file_errors(self):
        cases = {"raft/raft.cc 2Z\n": (1, "not a known part"), "/etc/passwd\n": (1, "relative"),
                 "a.cc\n../b.cc\n": (2, "relative"), "a.cc\na.cc\n": (2, "twice"), "# none\n": (1, "no files")}
        for text, (line, words) in cases.items():
            with TempDir() as d:
                write_files(d, {"s.txt": text})
                with self.assertRaises(rubric.RubricError, msg=text) as cm:
                    rubric.load_student_files(d / "s.txt", {"2A"})
                self.assertEqual(cm.exception.line, line, text)
                self.assertIn(words, str(cm.exception))
                self.assertIn("s.txt:", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
