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
import shutil
import time
from pathlib import Path

from grader import sandbox as sandbox_lib
from grader import verdict


@dataclasses.dataclass
class RunSettings:
    memory_mib: int = 4096
    output_mib: int = 32
    processes: int = 2048


@dataclasses.dataclass
class Job:
    index: int
    part: str
    test: str  # "Raft2A.ReElection"
    runtime: str  # "sim" | "threads"
    seed: int
    limit: float  # wall-clock seconds
    binary: str


@dataclasses.dataclass
class Result:
    job: Job
    passed: bool
    reason: str
    seconds: float
    log_path: str
    log_tail: str
    fingerprint: str = ""


_TAIL_BYTES = 64 * 1024


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
    def __init__(self, job, proc, slot, started, run_dir, log_path):
        self.job = job
        self.proc = proc
        self.slot = slot
        self.started = started
        self.run_dir = run_dir
        self.log_path = log_path
        self.timed_out = False


class Runner:
    def __init__(self, box: sandbox_lib.Sandbox, work_dir: Path, parallel: int,
                 settings: RunSettings):
        self.box = box
        self.work_dir = Path(work_dir)
        self.parallel = max(1, parallel)
        self.settings = settings
        (self.work_dir / "logs").mkdir(parents=True, exist_ok=True)
        (self.work_dir / "runs").mkdir(parents=True, exist_ok=True)
        for d in (self.work_dir, self.work_dir / "runs"):
            os.chmod(d, 0o711)  # a run's own uid must reach its folder

    def limits(self, wall_seconds: float) -> sandbox_lib.Limits:
        return sandbox_lib.Limits(
            # The threads runtime may keep every core busy.
            cpu_seconds=int(math.ceil(wall_seconds * max(1, os.cpu_count() or 1))) + 10,
            memory_bytes=self.settings.memory_mib << 20,
            output_bytes=self.settings.output_mib << 20,
            processes=self.settings.processes,
        )

    def _env(self, run_dir: str, job: Job | None):
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
        return env

    def _start(self, name: str, argv, job, limit, slot) -> _Running:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        run_dir = self.work_dir / "runs" / safe
        if run_dir.exists():
            shutil.rmtree(run_dir, ignore_errors=True)
        (run_dir / "tmp").mkdir(parents=True)
        self.box.prepare_dir(str(run_dir), slot)
        self.box.prepare_dir(str(run_dir / "tmp"), slot)
        log_path = str(self.work_dir / "logs" / f"{safe}.log")
        # The staged binaries live in work_dir, which may be under /tmp (private in bwrap).
        readable = [str(self.work_dir)]
        if not Path(argv[0]).resolve().is_relative_to(self.work_dir.resolve()):
            readable.append(os.path.dirname(os.path.abspath(argv[0])))
        argv = [a.replace("{run_dir}", str(run_dir)) for a in argv]
        proc = self.box.start(argv, self._env(str(run_dir), job), str(run_dir), log_path,
                              self.limits(limit), slot, readable=readable)
        return _Running(job, proc, slot, time.monotonic(), str(run_dir), log_path)

    def _finish(self, r: _Running, limit: float) -> Result | None:
        seconds = time.monotonic() - r.started
        self.box.cleanup(r.proc, r.slot)
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
        )
        v = verdict.judge(obs, job.test)
        shutil.rmtree(r.run_dir, ignore_errors=True)
        m = re.findall(r"^fingerprint: ([0-9a-f]+)$", tail, re.MULTILINE)
        return Result(job, v.passed, v.reason, seconds, r.log_path, tail, m[-1] if m else "")

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
                still = []
                for r in running:
                    if on_output is not None:
                        stream_pos = _stream(r.log_path, stream_pos, on_output)
                    if r.proc.poll() is None:
                        if time.monotonic() - r.started > r.job.limit:
                            r.timed_out = True
                            self.box.kill(r.proc, r.slot)
                            r.proc.wait()
                        else:
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
                try:
                    r.proc.wait(timeout=5)
                except Exception:  # noqa: BLE001 - nothing more to do
                    pass
                shutil.rmtree(r.run_dir, ignore_errors=True)
        return results

    def list_tests(self, binary: str, limit: float = 60.0):
        """Runs `binary --gtest_list_tests` in the sandbox: (output, error)."""
        r = self._start(f"list-{os.path.basename(binary)}", [binary, "--gtest_list_tests"],
                        None, limit, 0)
        while r.proc.poll() is None:
            if time.monotonic() - r.started > limit:
                r.timed_out = True
                self.box.kill(r.proc, 0)
                r.proc.wait()
                break
            time.sleep(0.02)
        self.box.cleanup(r.proc, 0)
        shutil.rmtree(r.run_dir, ignore_errors=True)
        output = read_tail(r.log_path, 1 << 20)
        if r.timed_out:
            return output, f"listing the tests of {binary} took over {limit:g} s"
        if r.proc.returncode != 0:
            return output, (f"listing the tests of {binary} failed "
                            f"(exit {self.box.returncode(r.proc)}): "
                            + output.strip()[-400:])
        return output, ""


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
