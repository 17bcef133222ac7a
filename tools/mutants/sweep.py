# tools/mutants/sweep.py
#
# Grades one version of the tree (the reference, or the reference with one
# mutant applied) the way ./grade would, but stops at the first failing run:
# one scratch copy of the tree and one Bazel output base serve every mutant,
# so each build recompiles only the mutated file; the runs go through the
# grader's own sandboxed runner and verdict (grader/runner.py), so "killed"
# means exactly "./grade would fail it".
#
#   scratch = Scratch(source_root, work / "tree")       # synced copy
#   builder = scratch.builder(output_base, disk_cache, log_dir)
#   plan = Plan.for_file(catalogue, student_files, "raft/raft.cc", also=[])
#   outcome = sweep(runner, plan, binaries, seeds=range(1, 21), on_tick=...)
#   outcome.killed, outcome.seed, outcome.test, outcome.reason
#
# Runs are ordered seed by seed, each seed's tests in rubric order; the kill
# reported is the first failing run in that order (lowest seed, then earliest
# test), whatever the number of parallel jobs.

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import shutil
from pathlib import Path

from grader import build as build_lib
from grader import runner as runner_lib
from grader import tree as tree_lib


class SweepError(Exception):
    """Something other than a test failed (a build, a missing test...)."""


class Scratch:
    """A copy of the source tree where mutants are applied, one at a time."""

    def __init__(self, source_root: Path, dest: Path):
        self.source_root = Path(source_root)
        self.dest = Path(dest)

    def sync(self) -> str:
        """Makes dest a byte-for-byte copy of the source tree (rewriting only
        files that differ, so Bazel's outputs stay valid). Returns a digest of
        the tree, which names the reference's verdict: every file but this
        tool's own and Markdown, which cannot change a test's outcome."""
        digest = hashlib.sha256()
        wanted = set()
        for rel in tree_lib.tree_files(self.source_root):
            src = self.source_root / rel
            data = src.read_bytes()
            if not (rel.startswith("tools/mutants/") or rel.endswith(".md")):
                digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
            wanted.add(rel)
            if tree_lib.write_if_changed(self.dest / rel, data):
                shutil.copymode(src, self.dest / rel)
        for rel in tree_lib.tree_files(self.dest):
            if rel not in wanted:
                (self.dest / rel).unlink()
        return digest.hexdigest()

    def write(self, rel: str, text: str) -> None:
        tree_lib.write_if_changed(self.dest / rel, text.encode("utf-8"))

    def restore(self, rel: str) -> None:
        tree_lib.write_if_changed(self.dest / rel, (self.source_root / rel).read_bytes())


@dataclasses.dataclass(frozen=True)
class PlannedTest:
    part: str  # "2B", or "also" for a test added with --also
    test: str
    target: str
    limit: float  # wall-clock seconds, the rubric's sim limit
    cpu_budget: float | None = None  # CPU seconds, the rubric's, if any


@dataclasses.dataclass(frozen=True)
class Plan:
    """The tests that judge a mutant of one student file, in order."""

    parts: tuple  # the rubric parts whose solution the file holds
    tests: tuple  # PlannedTest, rubric order, then the --also ones

    @property
    def targets(self) -> list:
        out = []
        for t in self.tests:
            if t.target not in out:
                out.append(t.target)
        return out

    @staticmethod
    def for_file(catalogue: dict, student_files, rel: str) -> "Plan":
        listed = [f for f in student_files if f.path == rel]
        if not listed:
            raise SweepError(f"{rel} is not a student file (labs/student_files.txt)")
        parts = [p for p in listed[0].parts if p in catalogue]
        if not parts:
            raise SweepError(f"{rel} holds no part that has a rubric")
        tests = tuple(PlannedTest(p, t.name, catalogue[p].target, t.limit("sim"), t.cpu_budget)
                      for p in parts for t in catalogue[p].tests)
        return Plan(tuple(parts), tests)

    def with_also(self, patterns, in_binary: dict) -> "Plan":
        """Adds the binaries' tests matching any of `patterns` (e.g.
        'Raft2Beyond.*') that the rubric does not grade, after its tests."""
        have = {t.test for t in self.tests}
        limit = max(t.limit for t in self.tests)
        extra = []
        for target in self.targets:
            for name in sorted(in_binary[target]):
                if name not in have and any(fnmatch.fnmatchcase(name, p) for p in patterns):
                    extra.append(PlannedTest("also", name, target, limit))
                    have.add(name)
        return Plan(self.parts, self.tests + tuple(extra))


@dataclasses.dataclass
class Outcome:
    killed: bool
    seconds: float = 0.0  # of test runs
    runs: int = 0
    seed: int | None = None
    test: str = ""
    reason: str = ""
    log_path: str = ""


class _Stop(Exception):
    pass


def sweep(runner: runner_lib.Runner, plan: Plan, binaries: dict, seeds,
          on_tick=None) -> Outcome:
    """Runs plan's tests in sim on each seed in turn until one run fails.

    binaries maps each target to its staged test binary. on_tick(seed,
    running test names) is called about twice a second."""
    outcome = Outcome(killed=False)
    for seed in seeds:
        jobs = [runner_lib.Job(i, t.part, t.test, "sim", seed, t.limit, binaries[t.target],
                               t.cpu_budget)
                for i, t in enumerate(plan.tests)]
        done = set()
        failures = {}

        def on_done(result, jobs=jobs, done=done, failures=failures):
            outcome.runs += 1
            outcome.seconds += result.seconds
            done.add(result.job.index)
            if not result.passed:
                failures[result.job.index] = result
            # Stop once the earliest failure so far can no longer be beaten
            # by a run still going.
            if failures and all(i in done for i in range(min(failures))):
                raise _Stop

        tick = None
        if on_tick is not None:
            def tick(running, seed=seed):
                on_tick(seed, [j.test for j in running])
        try:
            runner.run_all(jobs, on_done=on_done, on_tick=tick)
        except _Stop:
            pass
        if failures:
            first = failures[min(failures)]
            outcome.killed = True
            outcome.seed = seed
            outcome.test = first.job.test
            outcome.reason = first.reason
            outcome.log_path = first.log_path
            return outcome
    return outcome


def list_tests(runner: runner_lib.Runner, binaries: dict) -> dict:
    """{target: frozenset of test names} from each binary."""
    out = {}
    for target, binary in binaries.items():
        output, error = runner.list_tests(binary)
        if error:
            raise SweepError(error)
        out[target] = build_lib.parse_test_list(output)
    return out
