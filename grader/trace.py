"""Traces of failing runs (trace/SCHEMA.md), for --logs and --replay --trace,
with their views (tools/trace): the HTML timeline and the terminal columns.

A sim run replays exactly from its seed, so the grader does not trace every
run (tracing costs CPU, and most runs pass): after the grade it runs each
failing sim run again with LAB_TRACE set, checks that the replay failed the
same way (same schedule fingerprint), and puts its trace beside its log. A
threads run does not replay, so with --logs every threads run records its
trace as it goes, and the failing runs' traces are kept. Each kept trace
gets its HTML timeline beside it.
"""

from __future__ import annotations

import dataclasses
import os
import shutil


def traced_from_the_start(args, runtime: str) -> bool:
    """Whether a run records its trace while graded (not by a replay)."""
    if getattr(args, "trace", None) or getattr(args, "html", None) or getattr(args, "columns", False):
        return True  # --replay SEED TEST with --trace FILE, --html FILE or --columns
    return bool(args.logs) and runtime == "threads"


def trace_name(result) -> str:
    j = result.job
    return f"{j.test}-{j.runtime}-seed{j.seed}.trace.jsonl"


def page_name(result) -> str:
    j = result.job
    return f"{j.test}-{j.runtime}-seed{j.seed}.html"


def write_page(trace_path: str, html_path: str) -> str:
    """Writes the HTML timeline (tools/trace) of a trace; returns "" or what
    went wrong."""
    from tools.trace import page, records  # only when asked: it reads whole traces
    try:
        page.write(records.load(trace_path), html_path)
    except (OSError, ValueError, records.TraceError) as e:
        return f"cannot write the timeline {html_path}: {e}"
    return ""


def print_columns(trace_path: str, out) -> str:
    """Prints the terminal columns view (tools/trace) of a trace; returns ""
    or what went wrong."""
    from tools.trace import columns, records
    try:
        columns.write(records.load(trace_path), out)
    except (OSError, ValueError, records.TraceError) as e:
        return f"cannot show the trace {trace_path}: {e}"
    return ""


def copy_trace(result, logs_dir: str) -> None:
    """Copies a failed run's trace (if it has one) into logs_dir."""
    if result.passed or not result.trace_path:
        return
    try:
        shutil.copy(result.trace_path, os.path.join(logs_dir, trace_name(result)))
    except OSError:
        return
    write_page(result.trace_path, os.path.join(logs_dir, page_name(result)))


def replay_job(job):
    """The job that replays a failed sim run with a trace. Tracing costs some
    CPU, so the replay gets twice the time and no CPU budget."""
    return dataclasses.replace(job, trace=True, limit=job.limit * 2, cpu_budget=None)


def trace_failed_sim_runs(g, runner, logs_dir: str) -> bool:
    """Replays every failed sim run with tracing on and saves the traces in
    logs_dir. Returns False if interrupted."""
    failed = [r for r in g.results
              if not r.passed and r.job.runtime == "sim" and not r.job.trace and r.log_path]
    if not failed:
        return True
    g.say(f"./grade: replaying {len(failed)} failed sim run{'s' if len(failed) != 1 else ''} "
          f"with tracing on, for their traces in {logs_dir}")
    by_index = {r.job.index: r for r in failed}
    try:
        replays = runner.run_all([replay_job(r.job) for r in failed])
    except KeyboardInterrupt:
        return False
    os.makedirs(logs_dir, exist_ok=True)
    for replay in replays:
        original = by_index[replay.job.index]
        if not replay.trace_path:
            g.notes.append(f"{original.job.test} seed {original.job.seed}: the traced replay "
                           f"wrote no trace ({replay.reason or 'it passed'})")
            continue
        if replay.passed or replay.fingerprint != original.fingerprint:
            g.notes.append(f"{original.job.test} seed {original.job.seed}: the traced replay "
                           "did not repeat the failure exactly (its trace is saved anyway)")
        try:
            shutil.copy(replay.trace_path, os.path.join(logs_dir, trace_name(original)))
        except OSError as e:
            g.notes.append(f"cannot save a trace in {logs_dir}: {e}")
            continue
        problem = write_page(replay.trace_path, os.path.join(logs_dir, page_name(original)))
        if problem:
            g.notes.append(problem)
    return True


def save_replay_trace(result, dest: str) -> str:
    """--replay SEED TEST --trace FILE: copies the run's trace to FILE; returns
    what to say."""
    if not result.trace_path:
        return f"./grade: no trace was written (the run ended before it could write one)"
    try:
        shutil.copy(result.trace_path, dest)
    except OSError as e:
        return f"./grade: cannot write the trace to {dest}: {e}"
    return f"trace: {dest}"
