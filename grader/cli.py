# grader/cli.py
#
# ./grade's command line: options, the rubrics (labs/), and which parts to
# grade; the grade itself is grader/grade.py. `./grade --help` documents
# it; the exit status is 0 when every run passed, 1 when some failed, 2 for
# bad usage (unknown part, bad seeds, missing submission, malformed rubric),
# 130 when interrupted.

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from grader import disk_cache
from grader import grade
from grader import report
from grader import rubric
from grader import uids

ROOT = Path(__file__).resolve().parent.parent

HELP = """\
Usage: ./grade [OPTION...] [PART...]

Grades Raft lab parts (2A 2B 2C 2D 3A 3B) by running each test of each part
in its own sandboxed process, and prints a table per part, every failure
with the command that replays it, the scores, and last the line
"N passed, M failed" (counting test runs). With no PART, grades every part
whose test target is in this tree. With no --submission, grades the files in
this tree (the reference solution, in the instructor's tree).

It first installs missing packages (tools/bootstrap.sh), then builds the test
binaries with Bazel. A test earns its points only if all of its runs pass.

Choosing what runs:
  PART...               parts to grade, e.g. 2A 2B (any case)
  --with-deps           also grade the parts the given parts build on
  --runtime R           sim (default: deterministic, fast), threads (real
                        threads and the wall clock), or both
  --runs N              runs per test and runtime (default 1)
  --seed N              the first seed; run k uses seed N+k (default: a
                        random seed, printed so the grade can be repeated)
  --seeds LIST          explicit seeds, e.g. 1,2,3 or 10-19; one run per seed
  -j, --jobs N          runs at once (default: the machine's cores, {cores})

Grading a student:
  --submission DIR      grade the student-editable files found in DIR (at their
                        path, e.g. DIR/raft/raft.cc, or by name, DIR/raft.cc)
                        in a pristine copy of this tree; everything else in
                        DIR is ignored and listed. A student file missing from
                        DIR is graded with the handout's version. The files
                        are also scanned for calls student code has no reason
                        to make (exit, fork, signals, file and socket I/O, raw
                        threads, sleeps, clocks); those are listed as warnings.
  --hold-for-review     when the audit or the static check finds anything, the
                        Gradescope score is 0 and says it is held for review
                        (the --json file keeps the score and the findings)
  --no-audit            report the audit's findings (README "Honesty") as notes
                        instead of failing the runs: for testing the run
                        isolation on its own, never for grading
  --replay SEED TEST    run one test on one seed (with --runtime sim or
                        threads) and print its whole output
  --trace FILE          with --replay: write the run's trace (JSON Lines,
                        trace/SCHEMA.md) to FILE
  --html FILE           with --replay: write the run's timeline to FILE, a
                        page to open in a browser (one column per peer, RPCs
                        as arrows, the failure and the first bad moment
                        marked)
  --columns             with --replay: after the run, print its trace as
                        one column per peer (python3 -m tools.trace.view
                        --help for filters by topic, peer and time)
  LAB_LOG=TOPICS        (in the environment) passed to every run: your
                        LAB_LOG lines of those topics appear in --replay's
                        output and in the --logs files
  --race                race mode, the `go test -race` of these labs: build
                        the tests with ThreadSanitizer (a build of their own,
                        so the normal one stays cached) and fail any run in
                        which it reports a data race, naming the two tasks
                        and where they touched the memory. Deterministic in
                        sim: a seed reports the same race every time. Time
                        limits are scaled for TSan's slowdown. A part whose
                        rubric says `race = true` is graded in race mode
                        even without --race

Result files (rewritten after every run, so an interrupted grade leaves
valid files):
  --json FILE           all results: settings, seeds, every run, scores
  --junit FILE          JUnit XML, one testcase per run
  --gradescope FILE     Gradescope's results.json (per test score,
                        max_score, status, output)
  --logs DIR            save the full output of every failed run in DIR, and
                        its trace and timeline beside it
                        (TEST-RUNTIME-seedN.trace.jsonl and .html): failed
                        sim runs are replayed with tracing on after the
                        grade; threads runs are traced as they run

Limits (each run is also limited in CPU time and processes):
  --timeout-scale F     multiply every time limit in the rubrics by F
  --memory-limit MIB    memory of a run, all its processes together where
                        cgroups work, else each process's (default 4096)
  --output-limit MIB    output per run (default 32)
  --disk-limit MIB      what a run may write in its own folder (default 256)
  --no-bwrap            do not use bubblewrap even where it works
  --no-cgroups          do not use cgroups even where they work (memory and
                        processes are then limited per process and per uid)
  --allow-root-runs     as root, grade even when the per-slot uids cannot be
                        claimed, so runs execute as root; refused otherwise.
                        The header and the result files then say so
  --cache-dir DIR       where the pristine tree and Bazel's disk cache live
                        (default: $XDG_CACHE_HOME/raftlabs or ~/.cache/raftlabs)
  --cache-limit SIZE    Bazel's disk cache's limit: after the builds, if it
                        holds more than SIZE, its least recently used files
                        (and the action results naming them) are deleted
                        until it holds at most 3/4 of SIZE; not while another
                        build is using it. E.g. 500M, 1.5G (K, M, G = KiB,
                        MiB, GiB) or bytes; 0 for no limit (default 2G)
  --list                print the parts, tests, points and limits, and exit

Examples:
  ./grade                               every part, reference solution, sim
  ./grade 2A 2B --runs 5                two parts, five seeds each
  ./grade --runtime both --seeds 1-3 2C
  ./grade --submission ~/sub --gradescope results.json
  ./grade --replay 1234 Raft2B.Backup   a failure's replay, full output
  ./grade --race 2B --seeds 1-5         data races fail the runs

Rubrics, points and time limits are in labs/<part>/rubric.toml (format:
labs/README.md).
"""


class UsageError(Exception):
    pass


def parse_seeds(text: str) -> list:
    seeds = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise UsageError(f"--seeds {text!r}: empty item (write e.g. 1,2,3 or 10-19)")
        lo, sep, hi = item.partition("-")
        try:
            if sep:
                a, b = int(lo, 10), int(hi, 10)
                if a > b or b - a >= 100_000:
                    raise ValueError
                seeds.extend(range(a, b + 1))
            else:
                seeds.append(int(item, 10))
        except ValueError:
            raise UsageError(f"--seeds {text!r}: {item!r} is not a seed or a range "
                             "(write e.g. 1,2,3 or 10-19)") from None
    for s in seeds:
        if not 0 <= s < 2**64:
            raise UsageError(f"--seeds: {s} is out of range (0 to 2^64-1)")
    return seeds


def _positive_int(name, value):
    try:
        v = int(value, 10)
    except ValueError:
        raise UsageError(f"{name} {value!r} is not a whole number") from None
    if v < 1:
        raise UsageError(f"{name} must be at least 1")
    return v


def parse_args(argv):
    p = argparse.ArgumentParser(prog="./grade", add_help=False, allow_abbrev=False)
    p.add_argument("parts", nargs="*")
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("--with-deps", action="store_true")
    p.add_argument("--runtime", default="sim")
    p.add_argument("--runs")
    p.add_argument("--seed")
    p.add_argument("--seeds")
    p.add_argument("-j", "--jobs")
    p.add_argument("--submission")
    p.add_argument("--hold-for-review", action="store_true")
    p.add_argument("--no-audit", action="store_true")
    p.add_argument("--replay", nargs=2, metavar=("SEED", "TEST"))
    p.add_argument("--json")
    p.add_argument("--junit")
    p.add_argument("--gradescope")
    p.add_argument("--logs")
    p.add_argument("--trace")
    p.add_argument("--html")
    p.add_argument("--columns", action="store_true")
    p.add_argument("--timeout-scale", default="1")
    p.add_argument("--memory-limit", default="4096")
    p.add_argument("--output-limit", default="32")
    p.add_argument("--disk-limit", default="256")
    p.add_argument("--no-bwrap", action="store_true")
    p.add_argument("--no-cgroups", action="store_true")
    p.add_argument("--allow-root-runs", action="store_true")
    p.add_argument("--cache-dir")
    p.add_argument("--cache-limit", default="2G")
    p.add_argument("--list", action="store_true")
    p.add_argument("--race", action="store_true")

    def error(message):
        raise UsageError(message)

    p.error = error
    args = p.parse_args(argv)
    if args.help:
        return args
    if args.runtime not in ("sim", "threads", "both"):
        raise UsageError(f"--runtime {args.runtime!r}: use sim, threads or both")
    args.runtimes = ["sim", "threads"] if args.runtime == "both" else [args.runtime]
    args.jobs = _positive_int("--jobs", args.jobs) if args.jobs else (os.cpu_count() or 1)
    if args.jobs > 256:
        raise UsageError(f"--jobs {args.jobs}: at most 256 runs at once")
    args.memory_limit = _positive_int("--memory-limit", args.memory_limit)
    args.output_limit = _positive_int("--output-limit", args.output_limit)
    args.disk_limit = _positive_int("--disk-limit", args.disk_limit)
    try:
        args.cache_limit = disk_cache.parse_size(args.cache_limit)
    except ValueError as e:
        raise UsageError(f"--cache-limit {e}") from None
    try:
        args.timeout_scale = float(args.timeout_scale)
        if not 0 < args.timeout_scale <= 100:
            raise ValueError
    except ValueError:
        raise UsageError(f"--timeout-scale {args.timeout_scale!r}: use a number in (0, 100]") from None
    if args.seeds and args.seed:
        raise UsageError("give either --seed (a start) or --seeds (a list), not both")
    if args.seeds:
        args.seed_list = parse_seeds(args.seeds)
        if args.runs and _positive_int("--runs", args.runs) != len(args.seed_list):
            raise UsageError(f"--runs {args.runs} disagrees with the {len(args.seed_list)} seeds "
                             "given by --seeds (one run per seed)")
    else:
        runs = _positive_int("--runs", args.runs) if args.runs else 1
        if args.seed is not None:
            start = parse_seeds(args.seed)
            if len(start) != 1:
                raise UsageError(f"--seed {args.seed!r}: one number (for a list use --seeds)")
            start = start[0]
        else:
            start = random.SystemRandom().randrange(1, 1_000_000_000)
        args.seed_list = [start + k for k in range(runs)]
        for s in args.seed_list:
            if s >= 2**64:
                raise UsageError("--seed: the seeds would pass 2^64-1")
    if args.replay:
        seeds = parse_seeds(args.replay[0])
        if len(seeds) != 1:
            raise UsageError(f"--replay: {args.replay[0]!r} is not one seed")
        if args.runtime == "both":
            raise UsageError("--replay runs one runtime: use --runtime sim or --runtime threads")
        if args.parts or args.seeds or args.seed or args.runs:
            raise UsageError("--replay SEED TEST takes no parts, --runs, --seed or --seeds")
        args.seed_list = seeds
    for given, name in ((args.trace, "--trace FILE"), (args.html, "--html FILE"),
                        (args.columns, "--columns")):
        if given and not args.replay:
            raise UsageError(f"{name} goes with --replay SEED TEST (--logs DIR keeps the "
                             "traces and timelines of every failed run)")
    if args.submission is not None and not Path(args.submission).is_dir():
        what = "does not exist" if not Path(args.submission).exists() else "is not a folder"
        raise UsageError(f"--submission {args.submission}: {what}")
    return args


def resolve_parts(catalogue, names, with_deps):
    chosen = []
    for name in names:
        key = name.upper()
        if key not in catalogue:
            raise UsageError(f"unknown part {name!r} (parts: {' '.join(catalogue)})")
        if key not in chosen:
            chosen.append(key)
    if with_deps:
        for key in list(chosen):
            chosen.extend(r for r in rubric.requirements(catalogue, key) if r not in chosen)
    order = list(catalogue)
    return sorted(chosen, key=order.index)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
    except UsageError as e:
        print(f"./grade: {e}\n(./grade --help for usage)", file=sys.stderr)
        return 2
    if args.help:
        print(HELP.format(cores=os.cpu_count() or 1), end="")
        return 0
    try:
        catalogue = rubric.load_catalogue(ROOT / "labs")
        student_files = rubric.load_student_files(ROOT / "labs" / "student_files.txt", set(catalogue))
    except rubric.RubricError as e:
        print(f"./grade: malformed rubric: {e}", file=sys.stderr)
        return 2
    if not catalogue:
        print(f"./grade: no rubrics in {ROOT / 'labs'} (expected labs/<part>/rubric.toml)",
              file=sys.stderr)
        return 2
    if args.list:
        return list_catalogue(catalogue)
    explicit = bool(args.parts)
    try:
        if args.replay:
            test = args.replay[1]
            owner = [p for p in catalogue.values() if any(t.name == test for t in p.tests)]
            if not owner:
                raise UsageError(f"--replay: no part has a test named {test!r} "
                                 "(./grade --list shows them)")
            parts = [owner[0].name]
            explicit = True
        else:
            parts = resolve_parts(catalogue, args.parts or list(catalogue), args.with_deps)
    except UsageError as e:
        print(f"./grade: {e}\n(./grade --help for usage)", file=sys.stderr)
        return 2

    def on_term(signum, frame):
        raise KeyboardInterrupt

    # Ctrl-C and kill both end the grade cleanly (even when started in the
    # background, where SIGINT starts out ignored).
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        work = Path(tempfile.mkdtemp(prefix="raftlabs-grade-", dir=work_base()))
    except OSError as e:
        print(f"./grade: cannot make a work folder: {e}", file=sys.stderr)
        return 2
    try:
        return grade.run_grade(args, catalogue, student_files, parts, explicit, work)
    except KeyboardInterrupt:
        print("\n./grade: interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)


def work_base() -> str | None:
    """Where the grade's work folder goes: the temporary folder, unless (as
    root, whose runs use other uids) some folder on the way to it is closed
    to other users, e.g. TMPDIR inside a `mktemp -d` folder (mode 0700);
    then the first of /tmp and /var/tmp that every uid can reach. If none
    can, the temporary folder still, and the grade's preflight says what to
    change."""
    if os.geteuid() != 0:
        return None
    for base in (tempfile.gettempdir(), "/tmp", "/var/tmp"):
        if os.path.isdir(base) and uids.untraversable_ancestor(base) is None:
            return base
    return None


def list_catalogue(catalogue) -> int:
    for p in catalogue.values():
        req = f" (builds on {', '.join(p.requires)})" if p.requires else ""
        req += " (graded in race mode)" if p.race else ""
        print(f"{p.name}: {p.title}, {report.fmt_points(p.max_points)} points, {p.target}{req}")
        for t in p.tests:
            print(f"  {t.name:60s} {report.fmt_points(t.points):>4} pts   limit sim {t.limit('sim'):g} s, "
                  f"threads {t.limit('threads'):g} s")
    return 0
