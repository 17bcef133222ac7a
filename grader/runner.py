# grader/runner.py
#
# Runs test jobs: each one test of one binary, in one runtime, on one seed,
# in its own sandboxed process (grader/sandbox.py), up to `parallel` at a
# time, each killed at its wall-clock limit. One thread, one polling loop:
# nothing here can hang on a run, and Ctrl-C kills every run still going.
#
#   runner = Runner(sandbox, work_dir, parallel=2, settings=RunSettings(...))
#   results = runner.run_all(jobs, on_done=callback, on_tick=callback)
#
# A run's log is kept in work_dir/logs/ (outside the run's own folder, which
# the run may write and which is deleted afterwards).

from __future__ import annotations

import dataclasses
import math
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from grader import run_limits
from grader import race as race_lib
from grader import sandbox as sandbox_lib
from grader import uids as uids_lib
from grader import verdict


@dataclasses.dataclass
class RunSettings:
    memory_mib: int = 4096
    output_mib: int = 32
    processes: int = 2048
    disk_mib: int = 256


@dataclasses.dataclass
class Job:
    index: int
    part: str
    test: str  # "Raft2A.ReElection"
    runtime: str  # "sim" | "threads"
    seed: int
    limit: float  # wall-clock seconds
    binary: str
    cpu_budget: float | None = None  # CPU seconds of the whole run (sim only), or no budget
    race: bool = False  # a ThreadSanitizer binary: a report fails the run (race.py)
    trace: bool = False  # record a trace (LAB_TRACE, trace/SCHEMA.md): Result.trace_path


@dataclasses.dataclass
class Result:
    job: Job
    passed: bool
    reason: str
    seconds: float
    log_path: str
    log_tail: str
    fingerprint: str = ""
    cpu_seconds: float | None = None  # the whole run, children included, where measurable
    trace_path: str = ""  # the run's trace (Job.trace), kept beside its log


_TAIL_BYTES = 64 * 1024
_TRACE_FILE = "trace.jsonl"  # in a traced run's folder


def read_tail(path: str, limit: int = _TAIL_BYTES) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if size > limit:
        text = "[... earlier output cut ...]\n" + text.split("\n", 1)[-1]
    return text


class _Running:
    def __init__(self, job, proc, slot, started, run_dir, log_path, limit, nonce=""):
        self.job = job
        self.limit = limit  # wall-clock seconds
        self.nonce = nonce  # the run's secret (grader/verdict.py)
        self.proc = proc
        self.slot = slot
        self.started = started
        self.run_dir = run_dir
        self.log_path = log_path
        self.timed_out = False
        self.disk_exceeded = False
        self.disk_checked = started
        self.killed = False  # SIGKILL sent
        self.ended = None  # when its main process was seen gone


_DISK_CHECK_SECONDS = 0.25  # how often a run's folder is measured when it is not a tmpfs


class Runner:
    def __init__(self, box: sandbox_lib.Sandbox, work_dir: Path, parallel: int,
                 settings: RunSettings):
        self.box = box
        self.work_dir = Path(work_dir)
        self.parallel = max(1, parallel)
        self.settings = settings
        box.cgroups.set_slots(self.parallel)
        (self.work_dir / "logs").mkdir(parents=True, exist_ok=True)
        (self.work_dir / "runs").mkdir(parents=True, exist_ok=True)
        (self.work_dir / "bin").mkdir(parents=True, exist_ok=True)
        for d in (self.work_dir, self.work_dir / "runs"):
            os.chmod(d, 0o711)  # a run's own uid must reach its folder
        os.chmod(self.work_dir / "bin", 0o755)  # and read the staged binaries
        os.chmod(self.work_dir / "logs", 0o700)  # but no run reads another's log

    def limits(self, wall_seconds: float, race: bool = False) -> sandbox_lib.Limits:
        return sandbox_lib.Limits(
            # The threads runtime may keep every core busy.
            cpu_seconds=int(math.ceil(wall_seconds * max(1, os.cpu_count() or 1))) + 10,
            memory_bytes=self.settings.memory_mib << 20,
            output_bytes=self.settings.output_mib << 20,
            processes=self.settings.processes,
            disk_bytes=self.settings.disk_mib << 20,
            unlimited_address_space=race,
        )

    def _env(self, run_dir: str, job: Job | None, nonce: str = ""):
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": run_dir,
            "TMPDIR": os.path.join(run_dir, "tmp"),
            "LANG": "C.UTF-8",
            "GTEST_COLOR": "no",
            "MALLOC_ARENA_MAX": "4",
            "TEST_PREMATURE_EXIT_FILE": os.path.join(run_dir, "gtest_premature_exit"),
        }
        if job is not None:
            env["LAB_RUNTIME"] = job.runtime
            env["LAB_SEED"] = str(job.seed)
            if job.race:
                env["TSAN_OPTIONS"] = race_lib.TSAN_OPTIONS
            if job.trace:
                env["LAB_TRACE"] = os.path.join(run_dir, _TRACE_FILE)
            # The student's own log topics (LAB_LOG=VOTE,LEAD ./grade ...): lines
            # in the run's output, never a change to a sim schedule.
            if os.environ.get("LAB_LOG"):
                env["LAB_LOG"] = os.environ["LAB_LOG"]
        if nonce:
            env["LAB_GRADE_NONCE"] = nonce  # read and wiped by raft/grading_channel.cc
        return env

    def _start(self, name: str, argv, job, limit, slot, race=False) -> _Running:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        run_dir = self.work_dir / "runs" / safe
        if run_dir.exists():
            self.box.release_run_dir(str(run_dir))
        limits = self.limits(limit, race or (job is not None and job.race))
        self.box.prepare_run_dir(str(run_dir), slot, limits)
        log_path = str(self.work_dir / "logs" / f"{safe}.log")
        # Only the staged binaries (and the run's own folder) are visible in
        # bubblewrap: not the logs, not the other runs' folders.
        readable = [str(self.work_dir / "bin")]
        program = Path(argv[0]).resolve()
        if not program.is_relative_to(self.work_dir.resolve()):
            readable.append(str(program.parent))
        argv = [a.replace("{run_dir}", str(run_dir)) for a in argv]
        nonce = secrets.token_hex(16) if job is not None else ""
        proc = self.box.start(argv, self._env(str(run_dir), job, nonce), str(run_dir), log_path,
                              limits, slot, readable=readable)
        return _Running(job, proc, slot, time.monotonic(), str(run_dir), log_path, limit, nonce)

    def _check(self, r: _Running) -> None:
        """Polls a run: notes when its main process ended; kills it at its
        wall-clock limit or when its folder is too big (without waiting: the
        caller checks every run before finishing any)."""
        now = time.monotonic()
        if self.box.poll(r.proc) is not None:
            r.ended = r.ended or now
            return
        if r.killed:
            return
        if now - r.started > r.limit:
            r.timed_out = True
        elif now - r.disk_checked > _DISK_CHECK_SECONDS:
            r.disk_checked = now
            r.disk_exceeded = self.box.check_disk(r.run_dir, self.limits(r.limit))
        if r.timed_out or r.disk_exceeded:
            r.killed = True
            self.box.signal_kill(r.proc, r.slot)
            if self.box.wait(r.proc, timeout=0.5) is not None:
                r.ended = time.monotonic()

    def _finish(self, r: _Running, limit: float) -> Result | None:
        seconds = (r.ended or time.monotonic()) - r.started
        usage = self.box.cleanup(r.proc, r.slot)
        usage.disk_exceeded = (r.disk_exceeded or self.box.disk_full(r.run_dir)
                               or self.box.check_disk(r.run_dir, self.limits(limit)))
        try:
            output_bytes = os.path.getsize(r.log_path)
        except OSError:
            output_bytes = 0
        tail = read_tail(r.log_path)
        job = r.job
        obs = verdict.Observation(
            returncode=self.box.returncode(r.proc),
            timed_out=r.timed_out,
            limit_seconds=limit,
            seconds=seconds,
            report_path=os.path.join(r.run_dir, "report.json"),
            premature_exit_path=os.path.join(r.run_dir, "gtest_premature_exit"),
            log_tail=tail,
            output_bytes=output_bytes,
            output_limit=self.settings.output_mib << 20,
            memory_limit=self.settings.memory_mib << 20,
            log_path=r.log_path,
            nonce=r.nonce,
        )
        v = verdict.judge(obs, job.test)
        if job.race:
            v = race_lib.judge(v, tail)
        trace_path = ""
        if job.trace and os.path.isfile(os.path.join(r.run_dir, _TRACE_FILE)):
            trace_path = r.log_path[:-len(".log")] + ".trace.jsonl"
            try:
                shutil.copyfile(os.path.join(r.run_dir, _TRACE_FILE), trace_path)
            except OSError:
                trace_path = ""
        self.box.release_run_dir(r.run_dir)
        passed, reason = run_limits.apply(v.passed, v.reason, usage, self.settings, job)
        m = re.findall(r"^fingerprint: ([0-9a-f]+)$", tail, re.MULTILINE)
        return Result(job, passed, reason, seconds, r.log_path, tail, m[-1] if m else "",
                      usage.cpu_seconds, trace_path)

    @staticmethod
    def test_argv(job: Job):
        return [job.binary, f"--gtest_filter={job.test}", "--gtest_color=no",
                "--gtest_output=json:{run_dir}/report.json"]

    def run_all(self, jobs, on_done=None, on_tick=None, on_output=None, tick_seconds=0.5):
        """Runs every job; returns the Results in completion order.

        on_output(bytes), if given, receives the first run's output as it is
        written (for a single streamed replay)."""
        pending = list(jobs)
        pending.reverse()  # pop() from the end takes them in order
        running = []
        free = list(range(self.parallel - 1, -1, -1))
        results = []
        last_tick = 0.0
        stream_pos = 0
        try:
            while pending or running:
                while pending and free:
                    job = pending.pop()
                    slot = free.pop()
                    name = f"{job.index:05d}-{job.test}-{job.runtime}-{job.seed}"
                    running.append(self._start(name, self.test_argv(job), job, job.limit, slot))
                for r in running:
                    self._check(r)
                still = []
                for r in running:
                    if on_output is not None:
                        stream_pos = _stream(r.log_path, stream_pos, on_output)
                    if r.ended is None:
                        still.append(r)
                        continue
                    if on_output is not None:
                        stream_pos = _stream(r.log_path, stream_pos, on_output)
                    result = self._finish(r, r.job.limit)
                    free.append(r.slot)
                    results.append(result)
                    if on_done:
                        on_done(result)
                running = still
                now = time.monotonic()
                if on_tick and now - last_tick >= tick_seconds:
                    last_tick = now
                    on_tick([r.job for r in running])
                if running:
                    time.sleep(0.02)
        finally:
            for r in running:
                self.box.kill(r.proc, r.slot)
                self.box.cleanup(r.proc, r.slot)
                self.box.release_run_dir(r.run_dir)
        return results

    def _run_plain(self, name: str, argv, limit: float, race=False):
        """Runs argv in the sandbox (slot 0) to its end: (output, error or "")."""
        r = self._start(name, argv, None, limit, 0, race)
        self._check(r)
        while r.ended is None:
            time.sleep(0.02)
            self._check(r)
        self.box.cleanup(r.proc, 0)
        self.box.release_run_dir(r.run_dir)
        output = read_tail(r.log_path, 1 << 20)
        if r.timed_out:
            return output, f"took over {limit:g} s"
        if r.proc.returncode != 0:
            return output, f"failed (exit {self.box.returncode(r.proc)}): " + output.strip()[-400:]
        return output, ""

    def list_tests(self, binary: str, limit: float = 60.0, race=False):
        """Runs `binary --gtest_list_tests` in the sandbox (`race`: a TSan
        binary): (output, error)."""
        output, error = self._run_plain(f"list-{os.path.basename(binary)}",
                                        [binary, "--gtest_list_tests"], limit, race)
        if error:
            return output, f"listing the tests of {binary} {error}"
        return output, ""

    def preflight(self) -> str:
        """Checks, before any build, that a run can start here and write its
        own folder (a set-up mistake must not score a correct solution 0);
        returns "" or what is wrong and what to change."""
        blocker = None
        if self.box.as_root:
            blocker = uids_lib.untraversable_ancestor(self.work_dir / "runs")
        if blocker:
            return (f"the runs' uids cannot enter {blocker} (no execute permission for others), "
                    f"on the way to the grader's work folder {self.work_dir}: run "
                    f"`chmod o+x {blocker}`, or point TMPDIR at a folder every user can traverse "
                    "(e.g. TMPDIR=/tmp)")
        output, error = self._run_plain("preflight", ["/bin/sh", "-c", "echo ok > probe && cat probe"],
                                        30.0)
        if error or output.strip() != "ok":
            return ("a trial run in the sandbox " + (error or f"printed {output.strip()[:300]!r}")
                    + "; fix the set-up (or grade with --no-bwrap)")
        return ""


def _stream(path, pos, sink):
    try:
        with open(path, "rb") as f:
            f.seek(pos)
            data = f.read()
    except OSError:
        return pos
    if data:
        sink(data)
    return pos + len(data)
