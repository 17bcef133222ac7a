# grader/sandbox_test.py: the runner and its sandbox on stand-in "test
# binaries" (shell scripts): a pass needs the report, a hang is killed at
# its limit, a flood at the output cap, nothing a run starts survives it;
# and hostile runs (a fork bomb, forked children sharing out the memory, a
# full disk, a big file, peeking at the instructor's tree, other runs' logs
# and host sockets, burning CPU) fail with the limit named, within their
# time limit, leaving nothing behind.

import os
import socket
import tempfile
import time
import unittest
from pathlib import Path

from grader import runner, sandbox, uids
from grader.testing import TempDir, tree_root

# Writes GoogleTest's report (for the test named by --gtest_filter) and exits 0.
FORGED = r"""
for a in "$@"; do case "$a" in --gtest_output=json:*) out="${a#--gtest_output=json:}";; esac; done
printf '{"testsuites":[{"name":"S","testsuite":[{"name":"T","status":"RUN","result":"COMPLETED"}]}]}' > "$out"
echo "[  PASSED  ] 1 test."
"""
# ...and prints the tester's completion line with the run's nonce, as
# raft/grading_channel.cc does.
PASS = FORGED + 'printf \'lab-grade %s passed S.T\\n\' "$LAB_GRADE_NONCE"\n'
SCRIPTS = {
    "pass": PASS,
    "forged": FORGED,
    "early_exit": "echo '[  PASSED  ] 1 test.'\nexit 0\n",
    "hang": "while :; do sleep 1; done\n",
    "flood": "yes 'spam spam spam spam spam spam spam'\n",
    "crash": "kill -SEGV $$\n",
    # Leaves a child behind, in a new session, then passes.
    "orphan": "setsid sh -c 'sleep 300' </dev/null >/dev/null 2>&1 &\n" + PASS,
    # Forks until it cannot, and waits.
    "fork_bomb": "f() { f | f & }\nf\nsleep 60\n",
    # Five children each hold 100 MiB (under any one process's limit), then it passes.
    "children_memory": "python3 -c '\n"
                       "import os, time\n"
                       "for i in range(5):\n"
                       "    if os.fork() == 0:\n"
                       "        b = b\"x\" * (100 << 20)\n"
                       "        time.sleep(3)\n"
                       "        os._exit(0)\n"
                       "for i in range(5):\n"
                       "    os.wait()\n"
                       "'\n" + PASS,
    # Writes 1 MiB files into its temporary folder until the disk is full, then passes.
    "fills_disk": "i=0\nwhile [ $i -lt 64 ]; do head -c 1000000 /dev/zero > \"$TMPDIR/f$i\"; "
                  "i=$((i+1)); done\n" + PASS,
    # One file bigger than the file size limit, with almost no output.
    "big_file": "exec head -c 3000000 /dev/zero > \"$TMPDIR/big\"\n",
    # Burns about a second of CPU in a child, then passes.
    "burns_cpu": "python3 -c 'sum(i * i for i in range(8_000_000))' &\nwait\n" + PASS,
}

# Paths a run must not see (bubblewrap only): filled in by the test.
PEEK = """for p in {paths}; do
  if [ -e "$p" ]; then echo "LEAK: sees $p"; fi
done
for p in {sockets}; do
  if python3 -c "import socket, sys; s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1].replace('@', chr(0), 1))" "$p" 2>/dev/null; then
    echo "LEAK: connected to $p"
  fi
done
echo escape > /tmp/raftlabs-escaped 2>/dev/null
""" + PASS


def _snapshot(root: Path) -> dict:
    """path -> (size, mtime) of everything under root."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            out[p] = (st.st_size, st.st_mtime_ns)
    return out


class RunnerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = sandbox.Sandbox.detect()

    @classmethod
    def tearDownClass(cls):
        cls.box.close()

    def run_jobs(self, names, limit=5.0, output_mib=1, scripts=None, runtime="sim",
                 cpu_budget=None, **settings):
        scripts = dict(SCRIPTS, **(scripts or {}))
        settings = dict(dict(memory_mib=1024, output_mib=output_mib, processes=256), **settings)
        with TempDir() as d:
            bin_dir = d / "bin" / "pkg"
            bin_dir.mkdir(parents=True)
            for p in (d, d / "bin", bin_dir):
                os.chmod(p, 0o755)
            jobs = []
            for i, name in enumerate(names):
                path = bin_dir / name
                path.write_text("#!/bin/sh\n" + scripts[name])
                path.chmod(0o755)
                jobs.append(runner.Job(i, "2A", "S.T", runtime, 1, limit, str(path), cpu_budget))
            r = runner.Runner(self.box, d / "work", parallel=2,
                              settings=runner.RunSettings(**settings))
            before = _snapshot(d / "bin")
            t0 = time.monotonic()
            results = {res.job.index: res for res in r.run_all(jobs)}
            self.elapsed = time.monotonic() - t0
            # Nothing outside the runs' folders changed, and those are gone.
            self.assertEqual(_snapshot(d / "bin"), before)
            self.assertEqual(os.listdir(d / "work" / "runs"), [])
            return [results[i] for i in range(len(names))]

    def test_a_report_without_the_completion_line_fails(self):
        forged, = self.run_jobs(["forged"])
        self.assertFalse(forged.passed)
        self.assertIn("never reported the test's completion", forged.reason)

    def test_verdicts(self):
        passed, early, hang, flood, crash = self.run_jobs(
            ["pass", "early_exit", "hang", "flood", "crash"], limit=3.0)
        self.assertTrue(passed.passed, passed.reason)
        self.assertIn("PASSED", passed.log_tail)
        self.assertFalse(early.passed)
        self.assertIn("before GoogleTest finished", early.reason)
        self.assertFalse(hang.passed)
        self.assertIn("timed out", hang.reason)
        self.assertLess(hang.seconds, 6)
        self.assertFalse(flood.passed)
        self.assertIn("printed more than 1 MiB", flood.reason)
        self.assertLessEqual(os.path.getsize(flood.log_path) if os.path.exists(flood.log_path) else 0,
                             1 << 20)
        self.assertFalse(crash.passed)
        self.assertIn("SIGSEGV", crash.reason)
        self.assertLess(self.elapsed, 20)

    def test_nothing_survives_a_run(self):
        before = _sleepers()
        (orphan,) = self.run_jobs(["orphan"])
        self.assertTrue(orphan.passed, orphan.reason)
        time.sleep(0.2)
        self.assertEqual(_sleepers() - before, set())

    def test_killed_runs_leave_no_zombie(self):
        self.run_jobs(["hang", "orphan"], limit=1.0)
        self.assertEqual(_zombie_children(), [])

    def test_describe_says_whether_bubblewrap_is_used(self):
        text = self.box.describe()
        self.assertIn("bubblewrap", text)
        self.assertIn("cgroup", text)

    def test_fork_bomb_ends_within_its_limit(self):
        (bomb,) = self.run_jobs(["fork_bomb"], limit=3.0, processes=128)
        self.assertFalse(bomb.passed)
        print(f"\nfork bomb: {bomb.seconds:.2f} s against a 3 s limit ({self.describe_mode()})")
        self.assertLess(bomb.seconds, 3.0 + 3)
        self.assertLess(self.elapsed, 3.0 + 6)
        if self.box.cgroups.version:
            self.assertIn("more than 128 processes and threads", bomb.reason)
        # Without cgroups the shell may stop at its own failed fork or time out.
        self.assertEqual(_zombie_children(), [])

    def test_memory_is_limited_for_the_whole_run(self):
        (run,) = self.run_jobs(["children_memory"], limit=20.0, memory_mib=256)
        print(f"\n5 children x 100 MiB against 256 MiB: passed={run.passed}, {run.reason!r} "
              f"({self.describe_mode()})")
        if not self.box.cgroups.version:
            self.skipTest("without cgroups memory is limited per process only")
        self.assertFalse(run.passed)
        self.assertIn("memory limit (256 MiB for the whole run", run.reason)

    def test_a_full_folder_fails_the_run(self):
        (run,) = self.run_jobs(["fills_disk"], limit=20.0, disk_mib=8)
        print(f"\n64 MB written against an 8 MiB folder: {run.reason!r} ({self.describe_mode()})")
        self.assertFalse(run.passed)
        self.assertIn("filled its folder (the limit is 8 MiB", run.reason)

    def test_a_big_file_is_not_called_a_flood(self):
        (run,) = self.run_jobs(["big_file"], output_mib=1, disk_mib=16)
        self.assertFalse(run.passed)
        self.assertIn("wrote a file larger than 1 MiB", run.reason)
        self.assertNotIn("printed", run.reason)

    def test_cpu_seconds_and_budget(self):
        (over,) = self.run_jobs(["burns_cpu"], cpu_budget=0.5)
        (threads,) = self.run_jobs(["burns_cpu"], cpu_budget=0.5, runtime="threads")
        if over.cpu_seconds is None:
            self.assertTrue(self.box.bwrap and not self.box.cgroups.version)
            self.skipTest("without cgroups, a run's CPU is unknown under bubblewrap")
        print(f"\nCPU burner: {over.cpu_seconds:.2f} s of CPU ({self.describe_mode()})")
        self.assertGreater(over.cpu_seconds, 0.5)  # the child's CPU counts
        self.assertFalse(over.passed)
        self.assertRegex(over.reason, r"^used \d+\.\d s of CPU; the budget is 0.5 s")
        self.assertTrue(threads.passed, threads.reason)  # budgets are for sim runs

    def test_runs_see_only_what_they_need(self):
        if not self.box.bwrap:
            self.skipTest("without bubblewrap a run sees the whole file system")
        with tempfile.TemporaryDirectory(prefix="raftlabs-sock-", dir="/tmp") as sock_dir:
            os.chmod(sock_dir, 0o755)
            path = os.path.join(sock_dir, "service.sock")
            listener = socket.socket(socket.AF_UNIX)
            listener.bind(path)
            os.chmod(path, 0o777)
            listener.listen(8)
            abstract = socket.socket(socket.AF_UNIX)
            abstract.bind(f"\0raftlabs-test-{os.getpid()}")
            abstract.listen(8)
            secret = tree_root() / "raft" / "raft.cc"  # the reference solution
            paths = [str(secret), str(tree_root()), "/root", "/home", "/run", "/var/run",
                     os.path.expanduser("~/.cache"), sock_dir]
            script = PEEK.replace("{paths}", " ".join(f"'{p}'" for p in paths)).replace(
                "{sockets}", f"'{path}' '@raftlabs-test-{os.getpid()}'")
            try:
                run, other = self.run_jobs(["peek", "pass"], scripts={"peek": script})
            finally:
                listener.close()
                abstract.close()
        self.assertTrue(run.passed, run.reason)
        self.assertNotIn("LEAK", run.log_tail)
        self.assertFalse(os.path.exists("/tmp/raftlabs-escaped"))

    def test_other_runs_logs_are_hidden(self):
        if not self.box.bwrap:
            self.skipTest("without bubblewrap a run sees the whole file system")
        script = ('for f in "$(dirname "$PWD")"/../logs/* "$(dirname "$PWD")"/*; do '
                  'if [ -e "$f" ] && [ "$f" != "$PWD" ]; then echo "LEAK: $f"; fi; done\n' + PASS)
        first, peek = self.run_jobs(["pass", "peek"], scripts={"peek": script})
        self.assertTrue(peek.passed, peek.reason)
        self.assertNotIn("LEAK", peek.log_tail)

    def describe_mode(self):
        return (f"bubblewrap {'on' if self.box.bwrap else 'off'}, "
                f"cgroups {self.box.cgroups.version or 'off'}, "
                f"tmpfs {'on' if self.box.can_mount else 'off'}")


class RunnerWithoutBubblewrapTest(RunnerTest):
    """The same guarantees with process groups, cgroups, rlimits and (as root) uids."""

    @classmethod
    def setUpClass(cls):
        cls.box = sandbox.Sandbox.detect(use_bwrap=False)


class RunnerWithoutCgroupsTest(RunnerTest):
    """The fallback: per-process memory, RLIMIT_NPROC per slot uid, rusage for CPU."""

    @classmethod
    def setUpClass(cls):
        cls.box = sandbox.Sandbox.detect(use_cgroups=False)


class RunnerWithoutTmpfsTest(RunnerTest):
    """Not root (no tmpfs per run): the runner measures the run's folder and kills it."""

    @classmethod
    def setUpClass(cls):
        cls.box = sandbox.Sandbox.detect()
        cls.box.can_mount = False


class SetUpChecksTest(unittest.TestCase):
    def test_a_lock_folder_made_by_someone_else_is_refused(self):
        with TempDir() as d:
            lock = d / "locks"
            lock.mkdir(mode=0o700)
            self.assertEqual(uids.lock_dir_problem(str(lock)), "")
            os.chmod(lock, 0o777)
            self.assertIn("writable by others", uids.lock_dir_problem(str(lock)))
            if os.geteuid() == 0:
                os.chmod(lock, 0o700)
                os.chown(lock, 12345, 12345)
                self.assertIn("belongs to uid 12345", uids.lock_dir_problem(str(lock)))

    def test_root_without_slot_uids_says_so_loudly(self):
        if os.geteuid() != 0:
            self.skipTest("only root runs other uids")
        box = sandbox.Sandbox(None, "off", as_root=False, root_problem="the uid lock is taken")
        self.assertTrue(box.runs_as_root)
        self.assertIn("RUNS EXECUTE AS ROOT (the uid lock is taken)", box.describe())
        self.assertTrue(any("ROOT" in m for m in box.missing()))

    def test_preflight_names_a_folder_the_runs_cannot_enter(self):
        box = sandbox.Sandbox.detect()
        try:
            if not box.as_root:
                self.skipTest("runs use the grader's own uid")
            with TempDir() as d:
                os.chmod(d, 0o711)
                closed = d / "closed"
                closed.mkdir(mode=0o700)
                r = runner.Runner(box, closed / "work", 1, runner.RunSettings())
                problem = r.preflight()
                self.assertIn(f"cannot enter {closed}", problem)
                self.assertIn("TMPDIR", problem)
                os.chmod(closed, 0o711)
                self.assertEqual(r.preflight(), "")
        finally:
            box.close()

    def test_check_disk_counts_bytes_and_files(self):
        box = sandbox.Sandbox(None, "off", as_root=False)
        limits = sandbox.Limits(1, 1 << 30, 1 << 20, 1, disk_bytes=1 << 20)
        with TempDir() as d:
            (d / "a").write_bytes(b"x" * 4096)
            self.assertFalse(box.check_disk(str(d), limits))
            (d / "b").write_bytes(os.urandom(2 << 20))
            self.assertTrue(box.check_disk(str(d), limits))


def _zombie_children():
    """Zombie processes whose parent is this process."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == os.getpid():
                out.append(int(pid))
    return out


def _sleepers():
    """pids of `sleep 300` processes."""
    out = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if f.read().split(b"\0")[:2] == [b"sleep", b"300"]:
                        out.add(pid)
            except OSError:
                pass
    return out


if __name__ == "__main__":
    unittest.main()
