# grader/static_check_test.py: what the submission scan flags, and what it
# must not (comments, strings, member calls, the reference solution).

import unittest

from grader import static_check
from grader.testing import tree_root


def flagged(code):
    return [w.line for w in static_check.check_text(code, "raft/raft.cc")]


class StaticCheckTest(unittest.TestCase):
    def test_flags_process_io_thread_and_time_calls(self):
        for code in ("std::exit(0);", "_exit(0);", "abort();", "::exit(1);", "fork();",
                     "execvp(a, b);", "system(\"ls\");", "signal(SIGTERM, h);", "kill(pid, 9);",
                     "FILE* f = fopen(p, \"w\");", "std::ofstream out(p);", "int s = socket(1, 2, 3);",
                     "std::thread t(f);", "pthread_create(&t, 0, f, 0);", "usleep(10);",
                     "std::this_thread::sleep_for(d);", "auto t = std::chrono::steady_clock::now();",
                     "srand(1);", "std::random_device rd;", "std::mutex mu;", "#include <thread>",
                     "#include <fstream>", "absl::SleepFor(d);", "syscall(1);"):
            self.assertEqual(flagged(code), [1], code)

    def test_ignores_comments_strings_and_members(self):
        for code in ("// std::exit(0) would be wrong", "/* fork();\n kill(1, 2); */",
                     'Fail("abort() and exit(0)");', "rf->Kill();", "x.write(3);", "p->open(f);",
                     "lab::SleepFor(absl::Milliseconds(10));", "int n = 1'000'000;",
                     "lab::internal::Fatal(\"x\");", "raw = R\"(exit(0);)\";", "foo::exit(1);",
                     "#include \"labrpc/runtime/lab.h\"", "#include <algorithm>"):
            self.assertEqual(flagged(code), [], code)

    def test_line_numbers_survive_blanking(self):
        self.assertEqual(flagged("/* a\nb */\n\"x\"\nabort();"), [4])

    def test_reference_solution_is_clean(self):
        root = tree_root()
        for rel in ("raft/raft.h", "raft/raft.cc"):
            warnings = static_check.check_text((root / rel).read_text(), rel)
            self.assertEqual([str(w) for w in warnings], [], rel)


if __name__ == "__main__":
    unittest.main()
