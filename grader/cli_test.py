# grader/cli_test.py: ./grade's options: seeds, parts, sizes, and clear errors.

import io
import os
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

from grader import cli, rubric
from grader.testing import tree_root


class SeedsTest(unittest.TestCase):
    def test_lists_and_ranges(self):
        self.assertEqual(cli.parse_seeds("1,5,10-12"), [1, 5, 10, 11, 12])

    def test_bad_lists(self):
        for bad in ("", "1,", "x", "5-3", "1.5", "-1", str(2**64)):
            with self.assertRaises(cli.UsageError, msg=bad):
                cli.parse_seeds(bad)


class ArgsTest(unittest.TestCase):
    def test_defaults(self):
        a = cli.parse_args([])
        self.assertEqual(a.runtimes, ["sim"])
        self.assertEqual(len(a.seed_list), 1)
        self.assertGreaterEqual(a.jobs, 1)

    def test_seed_start_and_runs(self):
        a = cli.parse_args(["--seed", "7", "--runs", "3", "--runtime", "both"])
        self.assertEqual(a.seed_list, [7, 8, 9])
        self.assertEqual(a.runtimes, ["sim", "threads"])
        self.assertEqual(cli.parse_args(["--seeds", "4,2"]).seed_list, [4, 2])

    def test_usage_errors(self):
        for argv in (["--runtime", "go"], ["--runs", "0"], ["--jobs", "x"], ["--seed", "1", "--seeds", "2"],
                     ["--seeds", "1,2", "--runs", "3"], ["--submission", "/nonexistent/dir"],
                     ["--replay", "x", "Raft2A.ReElection"], ["--replay", "1", "T", "--runtime", "both"],
                     ["--timeout-scale", "0"], ["--bogus"], ["--trace", "t.jsonl"]):
            with self.assertRaises(cli.UsageError, msg=argv):
                cli.parse_args(argv)

    def test_cache_limit(self):
        self.assertEqual(cli.parse_args([]).cache_limit, 2 << 30)
        self.assertEqual(cli.parse_args(["--cache-limit", "1.5G"]).cache_limit, 3 << 29)
        self.assertEqual(cli.parse_args(["--cache-limit", "500M"]).cache_limit, 500 << 20)
        self.assertEqual(cli.parse_args(["--cache-limit", "0"]).cache_limit, 0)
        for bad in ("12X", "-1G", "1.5", ""):
            with self.assertRaisesRegex(cli.UsageError, "--cache-limit .*write e.g. 500M", msg=bad):
                cli.parse_args([f"--cache-limit={bad}"])

    def test_parts(self):
        catalogue = rubric.load_catalogue(tree_root() / "labs")
        self.assertEqual(cli.resolve_parts(catalogue, ["2b", "2A", "2B"], False), ["2A", "2B"])
        self.assertEqual(cli.resolve_parts(catalogue, ["2C"], True), ["2A", "2B", "2C"])
        with self.assertRaisesRegex(cli.UsageError, "unknown part '2E'"):
            cli.resolve_parts(catalogue, ["2E"], False)

    def test_main_reports_usage_errors_with_status_2(self):
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(cli.main(["9Z"]), 2)
        self.assertIn("unknown part '9Z'", err.getvalue())
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(cli.main(["--cache-limit", "12X", "2A"]), 2)
        self.assertIn("--cache-limit '12X' is not a size", err.getvalue())

    def test_help_and_list(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(cli.main(["--help"]), 0)
            self.assertEqual(cli.main(["--list"]), 0)
        for option in ("--runtime", "--runs", "--seed", "--seeds", "--jobs", "--submission",
                       "--json", "--junit", "--gradescope", "--replay", "--cache-limit"):
            self.assertIn(option, out.getvalue())
        self.assertIn("Raft2A.InitialElection", out.getvalue())


class WorkFolderTest(unittest.TestCase):
    def test_a_tmpdir_the_runs_cannot_enter_is_avoided(self):
        if os.geteuid() != 0:
            self.assertIsNone(cli.work_base())  # the runs share our uid
            return
        closed = tempfile.mkdtemp(prefix="raftlabs-closed-")  # 0700, like `mktemp -d`
        saved = tempfile.tempdir
        try:
            tempfile.tempdir = closed
            self.assertEqual(cli.work_base(), "/tmp")
            os.chmod(closed, 0o711)
            self.assertEqual(cli.work_base(), closed)
        finally:
            tempfile.tempdir = saved
            os.rmdir(closed)

    def test_new_limits_parse(self):
        a = cli.parse_args(["--disk-limit", "64", "--no-cgroups", "--allow-root-runs"])
        self.assertEqual(a.disk_limit, 64)
        self.assertTrue(a.no_cgroups and a.allow_root_runs)
        with self.assertRaises(cli.UsageError):
            cli.parse_args(["--disk-limit", "0"])


if __name__ == "__main__":
    unittest.main()
