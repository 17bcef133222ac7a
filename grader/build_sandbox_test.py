# grader/build_sandbox_test.py: a submission's build sees the toolchain and
# the folders it is given, not the rest of the machine; without bubblewrap
# the command is unchanged and the description says so.

import subprocess
import unittest

from grader import build as build_lib
from grader import build_sandbox
from grader.testing import TempDir


class BuildSandboxTest(unittest.TestCase):
    def test_without_bubblewrap_nothing_is_wrapped_and_it_says_so(self):
        box = build_sandbox.BuildSandbox.detect(use_bwrap=False)
        self.assertEqual(box.wrap(["bazel", "build"], cwd="/x", writable=["/x"]), ["bazel", "build"])
        self.assertIn("not sandboxed", box.describe())
        self.assertIn("#include", box.describe())

    def test_grading_builds_link_statically(self):
        self.assertIn("--dynamic_mode=off", build_lib.bazel_build_args(None))

    def test_the_view_holds_the_toolchain_and_the_given_folders_only(self):
        box = build_sandbox.BuildSandbox.detect()
        if not box.bwrap:
            self.skipTest(box.describe())
        with TempDir() as tree, TempDir() as elsewhere:
            (elsewhere / "secret.txt").write_text("not for the build\n")
            (tree / "a.cc").write_text(f'#include "{elsewhere}/secret.txt"\n')
            argv = box.wrap(["g++", "-fsyntax-only", "a.cc"], cwd=tree, writable=[tree])
            r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(f"{elsewhere}/secret.txt: No such file or directory", r.stderr)
            self.assertNotIn("not for the build", r.stderr)
            (tree / "b.cc").write_text('#include <cstdio>\nint main() { std::puts("ok"); }\n')
            argv = box.wrap(["g++", "b.cc", "-o", "b"], cwd=tree, writable=[tree])
            r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            for hidden in ("/root", "/home", "/etc/shadow", "/work"):
                r = subprocess.run(box.wrap(["ls", hidden], cwd=tree, writable=[]),
                                   capture_output=True, text=True, timeout=60)
                self.assertNotEqual(r.returncode, 0, f"{hidden} is visible: {r.stdout}")


if __name__ == "__main__":
    unittest.main()
