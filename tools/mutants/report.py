# tools/mutants/report.py
#
# What tools/mutants/run prints about the mutants it graded: one Row per
# mutant, the table (mutant, seeds to kill, killing test, time) and the
# details under it (errors, survivors, each kill's reason and log).

from __future__ import annotations

import sys


def minutes(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Row:
    """One mutant's result: killed (outcome says where), survived, or an
    error of the catalogue (error says what)."""

    def __init__(self, mutant, status, outcome=None, error="", seconds=0.0):
        self.mutant = mutant
        self.status = status  # "killed" | "survived" | "error"
        self.outcome = outcome
        self.error = error
        self.seconds = seconds

    def seeds_cell(self, seeds):
        if self.status == "killed":
            return str(self.outcome.seed)
        if self.status == "survived":
            tag = "equivalent" if self.mutant.equivalent else "SURVIVED"
            return f"{tag} ({seeds})"
        return "ERROR"

    def test_cell(self):
        if self.status == "killed":
            return self.outcome.test
        return "-" if self.status == "survived" else self.error.splitlines()[0][:60]


def print_table(rows, seeds, out=sys.stdout):
    head = ("mutant", "seeds to kill", "killing test", "time")
    cells = [(r.mutant.name, r.seeds_cell(seeds), r.test_cell(), minutes(r.seconds)) for r in rows]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(4)]
    line = "  ".join("{:<%d}" % w for w in widths[:3]) + "  {:>%d}" % widths[3]
    print(line.format(*head), file=out)
    print(line.format(*("-" * w for w in widths)), file=out)
    for c in cells:
        print(line.format(*c), file=out)


def print_details(rows, out=sys.stdout):
    for r in rows:
        if r.status == "error":
            print(f"  {r.mutant.name}: ERROR: {r.error}", file=out)
    for r in rows:
        if r.status == "survived":
            why = f" (equivalent: {r.mutant.equivalent})" if r.mutant.equivalent else ""
            print(f"  {r.mutant.name}: survived {r.outcome.runs} runs{why}: "
                  f"{r.mutant.description}", file=out)
    for r in rows:
        if r.status == "killed":
            reason = (r.outcome.reason.splitlines() or ["?"])[0][:150]
            print(f"  {r.mutant.name}: {r.outcome.test} seed {r.outcome.seed}: {reason}", file=out)
            print(f"      log: {r.outcome.log_path}", file=out)
