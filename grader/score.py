# grader/score.py
#
# Turns run results into scores. The rule (documented in labs/README.md): a
# test earns its points only if every one of its planned runs (every seed,
# every runtime graded) passed; otherwise it earns nothing. A part's score is
# the sum of its tests', the total the sum of the parts'.
#
#   s = summarize(parts, planned, results)   # planned: {test: number of runs}
#   s.parts["2A"].score, s.total, s.passed_runs, s.failed_runs
#
# Results may be partial (an interrupted grade): runs not yet done count as
# neither passed nor failed, and their tests earn nothing yet.

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class TestScore:
    part: str
    name: str
    max_points: float
    planned: int
    runs: int = 0
    failures: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0
    cpu_runs: int = 0  # runs whose CPU time is known
    total_cpu_seconds: float = 0.0
    max_cpu_seconds: float | None = None
    results: list = dataclasses.field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.runs >= self.planned

    @property
    def passed(self) -> bool:
        return self.complete and self.failures == 0

    @property
    def points(self) -> float:
        return self.max_points if self.passed else 0.0

    @property
    def mean_seconds(self) -> float:
        return self.total_seconds / self.runs if self.runs else 0.0

    @property
    def mean_cpu_seconds(self) -> float | None:
        return self.total_cpu_seconds / self.cpu_runs if self.cpu_runs else None

    @property
    def status(self) -> str:
        if self.failures:
            return "failed"
        return "passed" if self.complete else "not run"


@dataclasses.dataclass
class PartScore:
    name: str
    title: str
    tests: list

    @property
    def score(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_points for t in self.tests)

    @property
    def failures(self) -> int:
        return sum(t.failures for t in self.tests)


@dataclasses.dataclass
class Summary:
    parts: dict  # name -> PartScore, in grading order
    passed_runs: int
    failed_runs: int
    planned_runs: int

    @property
    def total(self) -> float:
        return sum(p.score for p in self.parts.values())

    @property
    def max_total(self) -> float:
        return sum(p.max_score for p in self.parts.values())


def summarize(parts, planned: dict, results) -> Summary:
    """parts: rubric Parts being graded; planned: test name -> runs planned."""
    by_test = {}
    out = {}
    for part in parts:
        rows = []
        for test in part.tests:
            row = TestScore(part.name, test.name, test.points, planned.get(test.name, 0))
            by_test[test.name] = row
            rows.append(row)
        out[part.name] = PartScore(part.name, part.title, rows)
    passed = failed = 0
    for r in results:
        row = by_test.get(r.job.test)
        if row is None:
            continue
        row.runs += 1
        row.results.append(r)
        row.total_seconds += r.seconds
        row.max_seconds = max(row.max_seconds, r.seconds)
        cpu = r.cpu_seconds
        if cpu is not None:
            row.cpu_runs += 1
            row.total_cpu_seconds += cpu
            row.max_cpu_seconds = max(row.max_cpu_seconds or 0.0, cpu)
        if r.passed:
            passed += 1
        else:
            row.failures += 1
            failed += 1
    return Summary(out, passed, failed, sum(planned.values()))
