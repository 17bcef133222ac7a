# handout_tool/markers_test.py: the solution-region stripper, including
# nesting, HANDOUT bodies and every kind of malformed marker.

import unittest

from grader.testing import tree_root
from handout_tool import markers

PARTS = {"2A", "2B", "2C", "2D"}


def strip(text):
    return markers.strip(text, PARTS, "f.cc")


class StripTest(unittest.TestCase):
    def test_region_becomes_placeholder_at_its_indentation(self):
        text, counts = strip("int f() {\n  // BEGIN SOLUTION 2A\n  return 42;\n  // END SOLUTION\n}\n")
        self.assertEqual(text, "int f() {\n  // Your code here (2A)\n}\n")
        self.assertEqual(counts, {"2A": 1})

    def test_handout_lines_become_the_body(self):
        src = ("int f(int x) {\n"
               "  // BEGIN SOLUTION 2B\n"
               "  return x + 1;\n"
               "  // END SOLUTION\n"
               "  // HANDOUT: (void)x;\n"
               "  // HANDOUT:\n"
               "  // HANDOUT:   return -1;\n"
               "}\n")
        text, _ = strip(src)
        self.assertEqual(text, "int f(int x) {\n  (void)x;\n\n    return -1;\n}\n")

    def test_nested_regions_go_with_the_outer_one(self):
        src = ("// BEGIN SOLUTION 2B\n"
               "a();\n"
               "  // BEGIN SOLUTION 2D\n"
               "  b();\n"
               "  // END SOLUTION\n"
               "  // HANDOUT: inner_handout();\n"
               "c();\n"
               "// END SOLUTION 2B\n"
               "d();\n")
        text, counts = strip(src)
        self.assertEqual(text, "// Your code here (2B)\nd();\n")
        self.assertEqual(counts, {"2B": 1, "2D": 1})

    def test_text_without_markers_is_unchanged(self):
        src = "line one\r\n  // a comment\r\nno newline at the end"
        self.assertEqual(strip(src)[0], src)
        self.assertFalse(markers.has_markers(src))

    def test_crlf_is_kept(self):
        text, _ = strip("a\r\n// BEGIN SOLUTION 2A\r\nb\r\n// END SOLUTION\r\n// HANDOUT: c\r\nd\r\n")
        self.assertEqual(text, "a\r\nc\r\nd\r\n")

    def test_stripping_is_idempotent(self):
        src = "x\n// BEGIN SOLUTION 2C\ny\n// END SOLUTION\n"
        once, _ = strip(src)
        self.assertEqual(strip(once)[0], once)


class ErrorTest(unittest.TestCase):
    def error(self, text):
        with self.assertRaises(markers.MarkerError) as cm:
            strip(text)
        self.assertTrue(str(cm.exception).startswith(f"f.cc:{cm.exception.line}:"))
        return cm.exception

    def test_unclosed_region_names_its_begin(self):
        e = self.error("a\n// BEGIN SOLUTION 2A\nb\n")
        self.assertEqual(e.line, 2)
        self.assertIn("never closed", str(e))

    def test_end_without_begin(self):
        self.assertEqual(self.error("a\n// END SOLUTION\n").line, 2)

    def test_unknown_part(self):
        e = self.error("// BEGIN SOLUTION 2E\n// END SOLUTION\n")
        self.assertEqual(e.line, 1)
        self.assertIn("unknown part '2E'", str(e))

    def test_mismatched_end_part(self):
        e = self.error("// BEGIN SOLUTION 2A\n// END SOLUTION 2B\n")
        self.assertEqual(e.line, 2)

    def test_misspelt_markers(self):
        for bad in ("//BEGIN SOLUTION 2A", "// BEGIN SOLUTION", "// begin solution 2A",
                    "// END SOLUTION 2A extra", "// BEGIN  SOLUTION 2A", "//HANDOUT: x"):
            e = self.error(f"a\n{bad}\n// END SOLUTION\n" if "BEGIN" in bad.upper() else f"a\n{bad}\n")
            self.assertEqual(e.line, 2, bad)

    def test_handout_line_out_of_place(self):
        self.assertIn("does not follow", str(self.error("a\n// HANDOUT: x\n")))
        src = "// BEGIN SOLUTION 2A\nx\n// HANDOUT: y\n// END SOLUTION\n"
        self.assertEqual(self.error(src).line, 3)
        src = "// BEGIN SOLUTION 2A\n// END SOLUTION\n\n// HANDOUT: late\n"
        self.assertEqual(self.error(src).line, 4)


class TreeFilesTest(unittest.TestCase):
    def test_the_real_student_files_strip(self):
        root = tree_root()
        for rel in ("raft/raft.h", "raft/raft.cc"):
            text = (root / rel).read_text()
            stripped, _ = markers.strip(text, PARTS, rel)  # (a handout tree has no regions left)
            self.assertNotIn("BEGIN SOLUTION", stripped)
            self.assertNotIn("HANDOUT", stripped)
        stripped, _ = markers.strip((root / "raft/raft.cc").read_text(), PARTS, "raft/raft.cc")
        for api in ("Raft::RequestVote(", "Raft::AppendEntries(", "Raft::InstallSnapshot(",
                    "Raft::Snapshot(", "Raft::Start(", "Raft::GetState("):
            self.assertIn(api, stripped)  # or the handout would not link


if __name__ == "__main__":
    unittest.main()
