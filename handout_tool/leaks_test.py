# handout_tool/leaks_test.py: what counts as showing the reference solution
# in a student file's handout text, and what does not.

import unittest

from handout_tool import leaks


def find(text):
    return leaks.find(text, "f.cc")


class LeaksTest(unittest.TestCase):
    def test_a_header_about_the_reference_is_a_leak_at_its_line(self):
        src = ("// f.cc\n"
               "//\n"
               "// The reference Raft: one mutex guards all state.\n"
               "int f();\n")
        problems = find(src)
        self.assertEqual(len(problems), 1)
        self.assertTrue(problems[0].startswith("f.cc:3: "), problems[0])
        self.assertIn("'reference'", problems[0])

    def test_notes_inside_a_region_are_not_a_leak(self):
        src = ("// f.cc: your Raft.\n"
               "// BEGIN SOLUTION 2A\n"
               "// The reference Raft: one mutex guards all state.\n"
               "// END SOLUTION\n"
               "// HANDOUT:\n"
               "int f();\n")
        self.assertEqual(find(src), [])

    def test_the_word_in_a_handout_body_is_a_leak(self):
        src = ("int f() {\n"
               "  // BEGIN SOLUTION 2A\n"
               "  return 1;\n"
               "  // END SOLUTION\n"
               "  // HANDOUT: return 0;  // as in the Reference\n"
               "}\n")
        self.assertEqual([p.split(": ")[0] for p in find(src)], ["f.cc:5"])

    def test_a_comment_copied_out_of_a_region_is_a_leak(self):
        note = "// Count who answered lately; step down without a majority."
        src = ("void Tick() {\n"
               "  // BEGIN SOLUTION 2A\n"
               f"  {note}\n"
               "  StepDown();\n"
               "  // END SOLUTION\n"
               f"  // HANDOUT: {note}\n"
               "}\n"
               f"{note}\n")
        problems = find(src)
        self.assertEqual([p.split(": ")[0] for p in problems], ["f.cc:6", "f.cc:8"])
        self.assertIn("solution region at line 3", problems[0])

    def test_short_comments_and_code_may_repeat(self):
        src = ("// BEGIN SOLUTION 2A\n"
               "// Figure 2, volatile.\n"
               "lab::MutexLock l(&mu_);\n"
               "// END SOLUTION\n"
               "// HANDOUT: // Figure 2, volatile.\n"
               "// HANDOUT: lab::MutexLock l(&mu_);\n")
        self.assertEqual(find(src), [])

    def test_words_that_merely_contain_it_are_fine(self):
        self.assertEqual(find("// See the references; dereferenced pointers.\n"), [])


if __name__ == "__main__":
    unittest.main()
