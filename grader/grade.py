# grader/grade.py
#
# One grade, once the command line is understood (grader/cli.py): builds the
# test binaries (in this tree, or for --submission in a pristine copy of it
# with the student's files), prunes Bazel's disk cache to --cache-limit
# (grader/disk_cache.py), plans one job per test, seed and runtime, runs
# them in the sandbox (grader/runner.py) with live progress, rewrites the
# result files after every run, and prints the final report.
#
#   status = run_grade(args, catalogue, student_files, parts, explicit, work_dir)

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from pathlib import Path

from grader import audit as audit_lib
from grader import build as build_lib
from grader import build_sandbox
from grader import disk_cache as disk_cache_lib
from grader import outputs
from grader import race as race_lib
from grader import report
from grader import rubric
from grader import runner as runner_lib
from grader import sandbox as sandbox_lib
from grader import score as score_lib
from grader import static_check
from grader import trace as trace_lib
from grader import tree as tree_lib
from handout_tool import markers

ROOT = Path(__file__).resolve().parent.parent


class Grade:
    """One grade: settings, build, runs, outputs."""

    def __init__(self, args, catalogue, student_files, out=sys.stdout):
        self.args = args
        self.catalogue = catalogue
        self.student_files = student_files
        self.out = out
        self.notes = []
        self.warnings = []
        self.violations = []  # grader/audit.py's findings: each fails its binary's runs
        self.results = []
        self.started = time.time()

    def say(self, text=""):
        self.out.write(text + "\n")
        self.out.flush()

    def replay_command(self, test, runtime, seed):
        cmd = ["./grade", "--replay", str(seed), test]
        if self.args.race or self.catalogue[self._part_of(test)].race:
            cmd.append("--race")
        if runtime != "sim":
            cmd += ["--runtime", runtime]
        if self.args.submission:
            cmd += ["--submission", str(Path(self.args.submission).resolve())]
        return " ".join(shlex.quote(c) for c in cmd)

    def _part_of(self, test):
        return next(p.name for p in self.catalogue.values() if any(t.name == test for t in p.tests))

    def replay_of(self, result):
        j = result.job
        cmd = self.replay_command(j.test, j.runtime, j.seed)
        return cmd + ("  (threads runs do not replay exactly)" if j.runtime == "threads" else "")


def _copy_failed_log(logs_dir, result):
    if not logs_dir or result.passed or not result.log_path:
        return
    os.makedirs(logs_dir, exist_ok=True)
    j = result.job
    dest = os.path.join(logs_dir, f"{j.test}-{j.runtime}-seed{j.seed}.log")
    try:
        shutil.copy(result.log_path, dest)
    except OSError:
        pass
    trace_lib.copy_trace(result, logs_dir)


def run_grade(args, catalogue, student_files, parts, explicit, work) -> int:
    g = Grade(args, catalogue, student_files)
    box = sandbox_lib.Sandbox.detect(use_bwrap=not args.no_bwrap,
                                     use_cgroups=not args.no_cgroups)
    try:
        return _run_grade(g, box, args, catalogue, student_files, parts, explicit, work)
    finally:
        box.close()


def _run_grade(g, box, args, catalogue, student_files, parts, explicit, work) -> int:
    if box.runs_as_root and not args.allow_root_runs:
        print(f"./grade: refusing to grade: as root, runs need uids of their own, and "
              f"{box.root_problem}. Fix that, or grade anyway with --allow-root-runs (runs "
              "would then execute as root)", file=sys.stderr)
        return 2
    cache = Path(args.cache_dir).resolve() if args.cache_dir else tree_lib.cache_root()
    student_paths = [f.path for f in student_files]

    # --- What is graded ---------------------------------------------------
    submission = None
    if args.submission:
        try:
            submission = tree_lib.collect_submission(Path(args.submission), student_paths)
        except tree_lib.SubmissionError as e:
            print(f"./grade: {e}", file=sys.stderr)
            return 2
    what = (f"the submission in {Path(args.submission).resolve()}" if submission
            else f"the files in {ROOT}")
    if args.replay:
        g.say(f"./grade: replaying {args.replay[1]} on seed {args.seed_list[0]} "
              f"({args.runtime}), {what}")
    else:
        runs = len(args.seed_list)
        g.say(f"./grade: grading {' '.join(parts)} of {what}")
        seeds = ",".join(map(str, args.seed_list)) if runs <= 10 else \
            f"{args.seed_list[0]}..{args.seed_list[-1]}"
        g.say(f"  runtime {args.runtime}, {runs} run{'s' if runs != 1 else ''} per test, "
              f"seeds {seeds}, {args.jobs} job{'s' if args.jobs != 1 else ''} at once")
    race_parts = [p for p in parts if args.race or catalogue[p].race]
    if race_parts:
        g.say(f"  race mode (ThreadSanitizer) for {' '.join(race_parts)}: a reported data race "
              "fails the run; time limits x" + "/".join(
                  f"{race_lib.TIMEOUT_FACTOR[r]:g}" for r in args.runtimes))
    g.say(f"  sandbox: {box.describe()}")
    for missing in box.missing():
        g.say(f"  isolation missing: {missing}")
    runner = runner_lib.Runner(box, work, args.jobs, runner_lib.RunSettings(
        memory_mib=args.memory_limit, output_mib=args.output_limit, disk_mib=args.disk_limit))
    problem = runner.preflight()
    if problem:
        print(f"./grade: cannot grade here: {problem}", file=sys.stderr)
        return 2
    if submission:
        _intake(g, submission, student_files, parts)

    # --- Build ------------------------------------------------------------
    targets = []  # race.build_key()s: a target, or a target built for race mode
    for name in parts:
        key = race_lib.build_key(catalogue[name].target, args.race or catalogue[name].race)
        if key not in targets:
            targets.append(key)
    try:
        built = _build_all(g, targets, submission, student_paths, set(catalogue), cache, work)
    except (markers.MarkerError, OSError) as e:
        print(f"./grade: cannot prepare the tree to build: {e}", file=sys.stderr)
        return 2
    # Once per grade, after its builds: Bazel never shrinks its disk cache.
    g.say(f"  {disk_cache_lib.prune(cache / 'disk-cache', args.cache_limit).describe()}")

    in_binary = {}
    for target, b in built.items():
        if b.ok:
            output, error = runner.list_tests(b.binary, race=race_lib.split_key(target)[1])
            if error:
                b.ok, b.error = False, error
            else:
                in_binary[target] = build_lib.parse_test_list(output)

    # --- Jobs -------------------------------------------------------------
    graded, jobs, failed_now = _plan(g, args, catalogue, parts, explicit, built, in_binary)
    if not graded:
        print("./grade: none of the chosen parts can be graded in this tree", file=sys.stderr)
        for note in g.notes:
            print(f"  {note}", file=sys.stderr)
        return 2
    planned = {}
    for j in jobs + [r.job for r in failed_now]:
        planned[j.test] = planned.get(j.test, 0) + 1

    writers = outputs.Writers(args.json, args.junit, args.gradescope)
    requires = {p.name: rubric.requirements(catalogue, p.name) for p in graded}
    meta = {
        "tool": "raftlabs ./grade", "version": 1, "tree": str(ROOT),
        "submission": str(Path(args.submission).resolve()) if args.submission else None,
        "graded_parts": [p.name for p in graded], "runtimes": args.runtimes, "seeds": args.seed_list,
        "race_parts": race_parts,
        "jobs": args.jobs, "sandbox": box.describe(), "isolation_missing": box.missing(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(g.started)),
        "warnings": [str(w) for w in g.warnings], "audit": g.violations, "notes": g.notes,
    }
    graded_for_score = graded
    if args.replay:
        graded_for_score = [rubric.Part(p.name, p.title, p.target, p.requires,
                                        tuple(t for t in p.tests if t.name == args.replay[1]), p.path,
                                        p.race)
                            for p in graded]

    def write_outputs(complete, interrupted=False):
        summary = score_lib.summarize(graded_for_score, planned, g.results)
        held = bool(args.hold_for_review and (g.warnings or g.violations))
        m = dict(meta, complete=complete, interrupted=interrupted, held_for_review=held,
                 elapsed_seconds=round(time.time() - g.started, 1))
        header = (f"{what}; runtime {args.runtime}; seeds {args.seed_list}; "
                  f"sandbox: {box.describe()}")
        if box.runs_as_root:
            header = "WARNING: the runs of this grade executed as ROOT.\n" + header
        header += review_text(g)
        writers.write(summary, m, g.replay_of, header, held)
        return summary

    for r in failed_now:
        g.results.append(r)
    write_outputs(False)

    # --- Run ----------------------------------------------------------------
    if args.replay:
        return run_replay(g, runner, jobs, failed_now, write_outputs, built)
    live = g.out.isatty()
    progress = report.Progress(len(jobs) + len(failed_now), g.out, live, args.jobs)
    progress.not_run(failed_now)

    def on_done(result):
        g.results.append(result)
        progress.done(result)
        _copy_failed_log(args.logs, result)
        write_outputs(False)

    interrupted = False
    try:
        runner.run_all(jobs, on_done=on_done, on_tick=progress.tick)
    except KeyboardInterrupt:
        interrupted = True
    progress.close()
    if args.logs and not interrupted:
        interrupted = not trace_lib.trace_failed_sim_runs(g, runner, args.logs)
    summary = write_outputs(not interrupted, interrupted)
    notes = list(g.notes)
    if interrupted:
        notes.append(f"interrupted: {len(g.results)} of {len(jobs) + len(failed_now)} runs done")
    notes.extend(f"isolation missing: {m}" for m in box.missing())
    if args.hold_for_review and (g.warnings or g.violations):
        notes.append("the score is held for review (--hold-for-review): Gradescope's file "
                     "gives 0 until the instructor has looked at the findings above")
    g.say(report.final_report(summary, g.replay_of, requires, notes=notes,
                              warnings=[str(w) for w in g.warnings], audit=g.violations))
    return 130 if interrupted else (0 if summary.failed_runs == 0 else 1)


def review_text(g) -> str:
    """The audit's and the static check's findings, for every report."""
    text = ""
    if g.violations:
        text += ("\nAudit of the compiled student code (each fails every run of its binary):\n"
                 + "\n".join(g.violations))
    if g.warnings:
        text += "\nStatic check (for review):\n" + "\n".join(str(w) for w in g.warnings)
    return text


def _intake(g, submission, student_files, parts):
    """Says which files are graded, notes what is missing or ignored, and
    runs the static check on the submitted files."""
    for rel, path in submission.files.items():
        g.say(f"  {rel} <- {path}")
    listed = {f.path: f for f in student_files}
    for rel in submission.missing:
        # Only the files of the parts being graded are worth a note.
        relevant = not listed[rel].parts or set(listed[rel].parts) & set(parts)
        if (ROOT / rel).exists() and relevant:
            g.notes.append(f"{rel} is not in the submission: graded with the handout's version")
    for rel, why in submission.ignored:
        g.notes.append(f"ignored {rel} ({why})")
    for rel, path in submission.files.items():
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        g.warnings.extend(static_check.check_text(text, rel))
    if g.warnings:
        g.say(f"  static check: {len(g.warnings)} call(s) for the instructor to review "
              "(listed at the end)")


def _build_all(g, targets, submission, student_paths, known_parts, cache, work) -> dict:
    """Builds each target, in this tree or (for a submission) in the
    pristine tree; returns {target: BuildResult} with staged binaries."""
    disk_cache = cache / "disk-cache"
    if submission is None:
        builder = build_lib.Builder(ROOT, disk_cache=str(disk_cache), log_dir=work / "build")
        return _build_targets(g, builder, targets, work / "bin", disk_cache, student_paths)
    box = build_sandbox.BuildSandbox.detect(use_bwrap=not g.args.no_bwrap)
    g.say(f"  {box.describe()}")
    if not box.bwrap:
        g.notes.append(box.describe())
    with tree_lib.locked_tree(cache, ROOT, on_wait=lambda d: g.say(
            f"  waiting for another ./grade that is using {d}")) as dest:
        g.say(f"  pristine tree: {dest}")
        tree_lib.sync_tree(ROOT, dest, student_paths, submission, known_parts)
        # Unsandboxed, its Bazel server stops by itself after 10 idle
        # minutes; sandboxed, Bazel runs in --batch mode under its own root.
        builder = build_lib.Builder(dest, startup=["--max_idle_secs=600"],
                                    disk_cache=str(disk_cache), log_dir=work / "build",
                                    sandbox=box, output_root=Path(str(dest) + ".bazel"))
        return _build_targets(g, builder, targets, work / "bin", disk_cache, student_paths)


def _build_targets(g, builder, targets, stage, disk_cache, student_paths) -> dict:
    """Builds, audits and stages each target, holding the disk cache's build
    lock meanwhile so that it is not pruned under the builds."""
    with disk_cache_lib.build_lock(disk_cache):
        built = {}
        for key in targets:  # race.build_key()s
            b = _build_one(g, builder, key, stage)
            if b.ok:
                _audit(g, builder, race_lib.split_key(key)[0], b, student_paths)
            built[key] = b
        return built


def _audit(g, builder, target, b, student_paths):
    """Fails the target's every run if the student files compiled into it
    break a rule of grader/audit.py (README "Honesty")."""
    def run(argv, cwd=None, **kw):
        return audit_lib.run_tool(builder.wrap(argv, cwd), cwd=cwd, **kw)

    t0 = time.monotonic()
    violations = audit_lib.audit_binary(builder.tree, target, student_paths, run)
    g.say(f"  audited {target}'s student objects ({time.monotonic() - t0:.1f} s): "
          + (f"{len(violations)} violation(s)" if violations else "clean"))
    if g.args.no_audit:
        g.notes.extend(f"audit not enforced (--no-audit): {v}" for v in violations)
        return
    for v in violations:
        if str(v) not in g.violations:
            g.violations.append(str(v))
    if violations:
        shown = [str(v) for v in violations[:8]]
        if len(violations) > 8:
            shown.append(f"... and {len(violations) - 8} more")
        b.ok = False
        b.error = ("rejected by the audit of the compiled student code (README \"Honesty\"):\n"
                   + "\n".join("    " + line for line in shown))


def _plan(g, args, catalogue, parts, explicit, built, in_binary):
    """One job per seed, test and runtime. Returns (graded parts, jobs to
    run, results decided without running: build failures and tests missing
    from their binary)."""
    graded = []
    jobs = []
    failed_now = []
    index = 0
    for name in parts:
        part = catalogue[name]
        race = args.race or part.race
        key = race_lib.build_key(part.target, race)
        b = built[key]
        if not b.ok and not explicit and "is not in this tree" in b.error:
            g.notes.append(f"part {name} skipped: {b.error}")
            continue
        graded.append(part)
        tests = part.tests
        if args.replay:
            tests = [t for t in tests if t.name == args.replay[1]]
        for seed in args.seed_list:
            for test in tests:
                for runtime in args.runtimes:
                    index += 1
                    limit = test.limit(runtime) * args.timeout_scale
                    budget = test.cpu_budget and test.cpu_budget * args.timeout_scale
                    if race:
                        # TSan's cost swamps a CPU budget: not checked in race mode.
                        limit, budget = limit * race_lib.TIMEOUT_FACTOR[runtime], None
                    job = runner_lib.Job(index, name, test.name, runtime, seed, limit,
                                         b.binary or "", budget, race,
                                         trace=trace_lib.traced_from_the_start(args, runtime))
                    reason = None
                    if not b.ok:
                        reason = b.error
                    elif test.name not in in_binary[key]:
                        reason = (f"{test.name} is not in {part.target}'s test binary "
                                  f"(the rubric {part.path.relative_to(ROOT)} and the tests disagree)")
                    if reason is None:
                        jobs.append(job)
                    else:
                        failed_now.append(runner_lib.Result(job, False, reason, 0.0, "", reason))
    return graded, jobs, failed_now


def _build_one(g, builder, key, stage):
    target, race = race_lib.split_key(key)
    g.say(f"  building {key} ...")
    if race:
        b = builder.build(target, stage, extra_args=race_lib.BAZEL_ARGS, stage_suffix="_race")
    else:
        b = builder.build(target, stage)
    if b.ok:
        g.say(f"  built {key} ({b.seconds:.1f} s)")
    else:
        g.say(f"  {b.error}")
    return b


def run_replay(g, runner, jobs, failed_now, write_outputs, built) -> int:
    if failed_now:
        r = failed_now[0]
        g.say(f"./grade: cannot run {r.job.test}: {r.reason}")
        g.say("0 passed, 1 failed")
        return 1
    job = jobs[0]
    binary = next(b.tree_binary for b in built.values() if b.binary == job.binary)
    g.say(f"  time limit {job.limit:g} s; without the grader (no sandbox, no limits):")
    g.say(f"    LAB_RUNTIME={job.runtime} LAB_SEED={job.seed} {binary} --gtest_filter={job.test}")
    g.say("-" * 72)
    out = sys.stdout.buffer

    def sink(data):
        out.write(data)
        out.flush()

    results = runner.run_all(jobs, on_output=sink)
    g.results.extend(results)
    write_outputs(True)
    r = results[0]
    g.say("-" * 72)
    if g.args.trace:
        g.say(trace_lib.save_replay_trace(r, g.args.trace))
    if g.args.html:
        g.say(trace_lib.write_page(r.trace_path, g.args.html) or f"timeline: {g.args.html}"
              if r.trace_path else "./grade: no trace was written, so no timeline")
    if g.args.columns and r.trace_path:
        problem = trace_lib.print_columns(r.trace_path, sys.stdout)
        if problem:
            g.say(problem)
    if r.passed:
        g.say(f"{job.test} passed ({job.runtime}, seed {job.seed}, {r.seconds:.1f} s)")
    else:
        g.say(f"{job.test} FAILED ({job.runtime}, seed {job.seed}, {r.seconds:.1f} s): {r.reason}")
    g.say(f"{1 if r.passed else 0} passed, {0 if r.passed else 1} failed")
    return 0 if r.passed else 1
