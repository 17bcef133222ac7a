# grader/tree_test.py: only student files are taken from a submission, found
# at their path, deeper, or by name; the pristine tree is synced exactly.

import os
import unittest
from pathlib import Path

from grader import tree
from grader.testing import TempDir, write_files

STUDENTS = ["raft/raft.h", "raft/raft.cc", "kvraft/server.cc"]


class CollectTest(unittest.TestCase):
    def test_paths_names_and_ignored_files(self):
        with TempDir() as d:
            write_files(d, {"raft/raft.cc": "cc", "raft.h": "h", "raft/config.cc": "evil tester",
                            "notes.txt": "n"})
            os.symlink("/etc/passwd", d / "server.cc")
            sub = tree.collect_submission(d, STUDENTS)
            self.assertEqual(sub.files, {"raft/raft.cc": d / "raft/raft.cc", "raft/raft.h": d / "raft.h"})
            self.assertEqual(sub.missing, ["kvraft/server.cc"])
            self.assertEqual(sub.ignored, [("notes.txt", "not a student-editable file"),
                                           ("raft/config.cc", "not a student-editable file"),
                                           ("server.cc", "a symbolic link")])

    def test_nested_folder(self):
        with TempDir() as d:
            write_files(d, {"my-lab/raft/raft.cc": "cc"})
            sub = tree.collect_submission(d, STUDENTS)
            self.assertEqual(sub.files, {"raft/raft.cc": d / "my-lab/raft/raft.cc"})

    def test_ambiguous_and_missing_folders(self):
        with TempDir() as d:
            write_files(d, {"a/raft.cc": "1", "b/raft.cc": "2"})
            with self.assertRaisesRegex(tree.SubmissionError, "2 files named raft.cc"):
                tree.collect_submission(d, STUDENTS)
        with self.assertRaisesRegex(tree.SubmissionError, "does not exist"):
            tree.collect_submission(Path("/nonexistent/sub"), STUDENTS)


class SyncTest(unittest.TestCase):
    def test_sync_copies_tree_overlays_submission_and_strips_missing(self):
        with TempDir() as d:
            src = write_files(d / "src", {
                "BUILD": "b", "raft/raft.h": "h\n// BEGIN SOLUTION 2A\nsecret\n// END SOLUTION\n",
                "raft/raft.cc": "reference\n", "labs/x.txt": "x", ".git/HEAD": "ref",
                "grader/__pycache__/a.pyc": "c"})
            sub_dir = write_files(d / "sub", {"raft.cc": "student\n"})
            dest = d / "dest"
            write_files(dest, {"stale.txt": "old", "raft/raft.cc": "previous student\n"})
            sub = tree.collect_submission(sub_dir, STUDENTS)
            notes = tree.sync_tree(src, dest, STUDENTS, sub, {"2A"})
            self.assertEqual(tree.tree_files(dest), ["BUILD", "labs/x.txt", "raft/raft.cc", "raft/raft.h"])
            self.assertEqual((dest / "raft/raft.cc").read_text(), "student\n")
            self.assertEqual((dest / "raft/raft.h").read_text(), "h\n// Your code here (2A)\n")
            self.assertIn("raft/raft.h is not in the submission", notes[0])

    def test_unchanged_files_are_not_rewritten(self):
        with TempDir() as d:
            src = write_files(d / "src", {"a.txt": "same"})
            dest = d / "dest"
            tree.sync_tree(src, dest, [], None, set())
            os.utime(dest / "a.txt", (1, 1))
            tree.sync_tree(src, dest, [], None, set())
            self.assertEqual(os.stat(dest / "a.txt").st_mtime, 1)

    def test_pristine_path_is_stable_per_tree(self):
        a = tree.pristine_path(Path("/c"), Path("/work/x"))
        self.assertEqual(a, tree.pristine_path(Path("/c"), Path("/work/x")))
        self.assertNotEqual(a, tree.pristine_path(Path("/c"), Path("/work/y")))


if __name__ == "__main__":
    unittest.main()
