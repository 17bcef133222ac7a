# handout_tool/make_test.py: what goes into the student tree, what stays out,
# and that a marker error writes nothing.

import unittest

from grader import rubric
from grader.testing import TempDir, tree_root, write_files
from handout_tool import make, markers

CATALOGUE = {"2A": None, "2B": None}
STUDENTS = [rubric.ListedFile("raft/raft.cc", ("2A",), 1), rubric.ListedFile("kvraft/server.cc", ("3A",), 2)]
PATTERNS = [(1, ".ci/"), (2, "grader/e2e_test.py"), (3, "labs/STUDENT_README.md")]


def source_tree(d, raft_cc="a\n// BEGIN SOLUTION 2A\nsecret\n// END SOLUTION\n// HANDOUT: stub();\n"):
    return write_files(d / "src", {
        "README.md": "instructor readme", "labs/STUDENT_README.md": "student readme",
        "raft/raft.cc": raft_cc, "raft/raft_test.cc": "tests", ".ci/run": "ci",
        "grader/e2e_test.py": "e2e", "grader/cli.py": "cli", ".git/HEAD": "ref",
    })


class MakeTest(unittest.TestCase):
    def test_plan_and_write(self):
        with TempDir() as d:
            src = source_tree(d)
            plan = make.plan_handout(src, CATALOGUE, STUDENTS, PATTERNS)
            self.assertEqual(plan.skipped_students, ["kvraft/server.cc"])
            self.assertEqual(sorted(plan.left_out), [".ci/run", "grader/e2e_test.py", "labs/STUDENT_README.md"])
            out = d / "out"
            make.write_handout(plan, out)
            self.assertEqual((out / "raft/raft.cc").read_text(), "a\nstub();\n")
            self.assertEqual((out / "README.md").read_text(), "student readme")
            self.assertEqual((out / "raft/raft_test.cc").read_text(), "tests")
            for gone in (".ci/run", "grader/e2e_test.py", ".git/HEAD", "labs/STUDENT_README.md"):
                self.assertFalse((out / gone).exists(), gone)

    def test_marker_error_names_file_and_line_and_writes_nothing(self):
        with TempDir() as d:
            src = source_tree(d, raft_cc="a\n// BEGIN SOLUTION 2A\nb\n")
            with self.assertRaisesRegex(markers.MarkerError, r"^raft/raft.cc:2: "):
                make.plan_handout(src, CATALOGUE, STUDENTS, PATTERNS)

    def test_a_student_file_that_shows_the_reference_is_an_error(self):
        with TempDir() as d:
            src = source_tree(d, raft_cc="// raft.cc: the reference Raft.\n"
                                         "// BEGIN SOLUTION 2A\nsecret\n// END SOLUTION\n")
            with self.assertRaisesRegex(make.HandoutError, r"\n  raft/raft.cc:1: .*'reference'"):
                make.plan_handout(src, CATALOGUE, STUDENTS, PATTERNS)

    def test_markers_outside_student_files_are_an_error(self):
        with TempDir() as d:
            src = source_tree(d)
            write_files(src, {"raft/config.cc": "x\n  // BEGIN SOLUTION 2A\n"})
            with self.assertRaisesRegex(markers.MarkerError, r"^raft/config.cc:2: .*not student-editable"):
                make.plan_handout(src, CATALOGUE, STUDENTS, PATTERNS)

    def test_out_dir_checks(self):
        with TempDir() as d:
            src = source_tree(d)
            with self.assertRaisesRegex(make.HandoutError, "inside this tree"):
                make.check_out_dir(src, src / "out", False)
            write_files(d, {"full/x": "x"})
            with self.assertRaisesRegex(make.HandoutError, "not empty"):
                make.check_out_dir(src, d / "full", False)
            make.check_out_dir(src, d / "full", True)
            self.assertEqual(list((d / "full").iterdir()), [])

    def test_real_tree_plans(self):
        root = tree_root()
        catalogue = rubric.load_catalogue(root / "labs")
        students = rubric.load_student_files(root / "labs" / "student_files.txt", set(catalogue))
        patterns = rubric.load_patterns(root / "labs" / "instructor_only.txt")
        self.assertTrue(make.is_instructor_only("grader/e2e_test.py", patterns))
        self.assertTrue(make.is_instructor_only(".ci/run", patterns))
        self.assertFalse(make.is_instructor_only("grader/cli.py", patterns))
        self.assertIn("raft/raft.cc", [f.path for f in students])
        del catalogue, students


if __name__ == "__main__":
    unittest.main()
