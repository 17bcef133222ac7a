# grader/report.py
#
# What ./grade prints: while it runs, one live progress line on a terminal
# (or one plain line per finished run otherwise), and at the end a table per
# part, every failure with its seed and replay command, the scores, and last
# the plain line `N passed, M failed` (counting test runs).
#
#   progress = Progress(total_runs, sys.stdout)
#   progress.done(result); progress.tick(running_jobs); progress.close()
#   print(final_report(summary, replay_of, notes))

from __future__ import annotations

import shutil
import time


def fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def fmt_points(x: float) -> str:
    return f"{x:g}"


class Progress:
    def __init__(self, total: int, out, live: bool, parallel: int):
        self.total = total
        self.out = out
        self.live = live
        self.parallel = max(1, parallel)
        self.done_count = 0
        self.failed = 0
        self.started = time.monotonic()
        self.busy_seconds = 0.0
        self._line_shown = False

    def _clear(self):
        if self.live and self._line_shown:
            self.out.write("\r\x1b[K")
            self._line_shown = False

    def done(self, result):
        self.done_count += 1
        self.busy_seconds += result.seconds
        if not result.passed:
            self.failed += 1
        j = result.job
        if not self.live:
            verdict = "PASS" if result.passed else "FAIL"
            cpu = result.cpu_seconds
            line = (f"[{self.done_count}/{self.total}] {verdict} {j.test} "
                    f"({j.runtime}, seed {j.seed}) {result.seconds:.1f}s"
                    + (f", cpu {cpu:.1f}s" if cpu is not None else ""))
            if not result.passed:
                line += " -- " + result.reason.splitlines()[0]
            self.out.write(line + "\n")
            self.out.flush()
        elif not result.passed:
            self._clear()
            self.out.write(f"FAIL {j.test} ({j.runtime}, seed {j.seed}): "
                           f"{result.reason.splitlines()[0]}\n")
            self.out.flush()

    def not_run(self, results):
        """Runs decided without running (a build failure, ...): one line per reason."""
        groups = {}
        for r in results:
            groups.setdefault(r.reason, []).append(r)
            self.done_count += 1
            self.failed += 1
        for reason, rs in groups.items():
            tests = sorted({r.job.test for r in rs})
            shown = ", ".join(tests[:3]) + (f" and {len(tests) - 3} more" if len(tests) > 3 else "")
            self._clear()
            self.out.write(f"[{self.done_count}/{self.total}] FAIL {len(rs)} run(s) not run "
                           f"({shown}) -- {reason.splitlines()[0]}\n")
        self.out.flush()

    def tick(self, running_jobs):
        if not self.live:
            return
        elapsed = time.monotonic() - self.started
        remaining = self.total - self.done_count
        if self.done_count:
            eta = f"ETA {fmt_duration(self.busy_seconds / self.done_count * remaining / self.parallel)}"
        else:
            eta = "ETA ?"
        line = (f"[{self.done_count}/{self.total}] {self.failed} failed | "
                f"{fmt_duration(elapsed)} elapsed | {eta}")
        if running_jobs:
            line += " | " + ", ".join(j.test for j in running_jobs)
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.out.write("\r\x1b[K" + line[:width])
        self.out.flush()
        self._line_shown = True

    def close(self):
        self._clear()
        self.out.flush()


def _table(rows, aligns):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.ljust(w) if a == "<" else c.rjust(w) for c, w, a in zip(r, widths, aligns)]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def final_report(summary, replay_of, requires: dict, notes=(), warnings=(), audit=()) -> str:
    lines = []
    for p in summary.parts.values():
        lines.append("")
        lines.append(f"Part {p.name}: {p.title}  ({fmt_points(p.score)}/{fmt_points(p.max_score)} points)")
        rows = [("test", "runs", "failed", "mean", "max", "max cpu", "points")]
        for t in p.tests:
            runs = f"{t.runs}" if t.complete else f"{t.runs}/{t.planned}"
            cpu = "-" if t.max_cpu_seconds is None else f"{t.max_cpu_seconds:.1f}s"
            rows.append((t.name, runs, str(t.failures), f"{t.mean_seconds:.1f}s",
                         f"{t.max_seconds:.1f}s", cpu,
                         f"{fmt_points(t.points)}/{fmt_points(t.max_points)}"))
        lines.extend(_table(rows, "<>>>>>>"))
        failing_deps = [r for r in requires.get(p.name, ()) if r in summary.parts
                        and summary.parts[r].failures]
        if p.failures and failing_deps:
            lines.append(f"  note: {p.name} builds on {', '.join(failing_deps)}, which failed too: "
                         "fix that first")
    failures = [r for p in summary.parts.values() for t in p.tests for r in t.results if not r.passed]
    if failures:
        lines.append("")
        lines.append(f"Failures ({len(failures)}):")
    # Runs that never started (a build failure, ...) share their reason: once.
    not_run = {}
    for r in failures:
        if not r.log_path:
            not_run.setdefault(r.reason, []).append(r)
    for reason, rs in not_run.items():
        tests = sorted({r.job.test for r in rs})
        shown = ", ".join(tests[:4]) + (f" and {len(tests) - 4} more" if len(tests) > 4 else "")
        lines.append(f"  {len(rs)} run(s) not run ({shown}):")
        lines.extend("      " + line for line in reason.splitlines()[:40])
    for r in failures:
        if not r.log_path:
            continue
        j = r.job
        reason = r.reason.splitlines()
        lines.append(f"  {j.test} ({j.runtime}, seed {j.seed}, {r.seconds:.1f}s): {reason[0]}")
        lines.extend("      " + extra for extra in reason[1:8])
        lines.append(f"    replay: {replay_of(r)}")
    if audit:
        lines.append("")
        lines.append(f"Audit of the compiled student code ({len(audit)} violation(s); each fails "
                     "every run of its test binary):")
        lines.extend(f"  {v}" for v in audit)
    if warnings:
        lines.append("")
        lines.append(f"Static check of the submission ({len(warnings)} for the instructor to review; "
                     "not counted in the score):")
        lines.extend(f"  {w}" for w in warnings)
    if notes:
        lines.append("")
    for note in notes:
        lines.append(f"note: {note}")
    lines.append("")
    per_part = ", ".join(f"{p.name} {fmt_points(p.score)}/{fmt_points(p.max_score)}"
                         for p in summary.parts.values())
    lines.append(f"Score: {per_part}" + (" | " if per_part else "")
                 + f"total {fmt_points(summary.total)}/{fmt_points(summary.max_total)}")
    lines.append(f"{summary.passed_runs} passed, {summary.failed_runs} failed")
    return "\n".join(lines)
