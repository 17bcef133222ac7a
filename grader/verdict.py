# grader/verdict.py
#
# Decides whether one test run passed, from evidence only: a run passes if
# and only if the process exited with status 0 AND GoogleTest's JSON report,
# which GoogleTest writes at the normal end of the program, lists exactly
# that test as run to completion without failures AND the premature-exit
# file GoogleTest deletes at the normal end is gone. An early exit(0), an
# _exit(0) from a destructor, or a printed "PASSED" line is a failure.
#
#   v = judge(Observation(...), "Raft2A.ReElection")
#   v.passed, v.reason      # reason is "" when passed
#
# Nothing here runs anything; grader/runner.py gathers the Observation.

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal

_SIGNAL_REASONS = {
    signal.SIGSEGV: "crashed (SIGSEGV: a bad memory access)",
    signal.SIGBUS: "crashed (SIGBUS: a bad memory access)",
    signal.SIGFPE: "crashed (SIGFPE: an arithmetic error such as division by zero)",
    signal.SIGILL: "crashed (SIGILL)",
    signal.SIGABRT: "aborted (SIGABRT: an assertion, std::terminate or an uncaught exception)",
    signal.SIGXCPU: "used up its CPU time limit (SIGXCPU)",
    signal.SIGXFSZ: "printed more than the output limit (SIGXFSZ)",
    signal.SIGKILL: "was killed (SIGKILL)",
}


@dataclasses.dataclass
class Observation:
    returncode: int | None  # as subprocess reports it: -N for signal N
    timed_out: bool  # the grader killed it at the wall-clock limit
    limit_seconds: float
    seconds: float
    report_path: str
    premature_exit_path: str
    log_tail: str  # the end of the output, for messages
    output_bytes: int
    output_limit: int
    memory_limit: int


@dataclasses.dataclass
class Verdict:
    passed: bool
    reason: str  # empty if passed


def _report_status(path: str, test: str):
    """(ok, why) from GoogleTest's JSON report."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            data = json.load(f)
    except FileNotFoundError:
        return False, "no GoogleTest report"
    except (OSError, ValueError) as e:
        return False, f"GoogleTest's report is unreadable ({e})"
    suite_name, _, case_name = test.partition(".")
    found = []
    try:
        for suite in data.get("testsuites", []):
            for case in suite.get("testsuite", []):
                if suite.get("name") == suite_name and case.get("name") == case_name:
                    found.append(case)
    except AttributeError:
        return False, "GoogleTest's report is malformed"
    if not found:
        return False, f"GoogleTest's report does not list {test} (is it in the test binary?)"
    if len(found) > 1:
        return False, f"GoogleTest's report lists {test} more than once"
    case = found[0]
    failures = case.get("failures") or []
    if failures:
        return False, "failed: " + _failure_text(str(failures[0].get("failure", "")))
    if case.get("status") != "RUN":
        return False, f"did not run (status {case.get('status')!r})"
    if case.get("result") != "COMPLETED":
        return False, f"did not complete (result {case.get('result')!r}; skipped?)"
    return True, ""


def _failure_text(text: str) -> str:
    """GoogleTest's "file:line\nFailed\nmessage" as "message (at file:line)"."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    where = ""
    if lines and re.match(r"^\S+:\d+$", lines[0]):
        where = lines.pop(0)
    if lines and lines[0] == "Failed":
        lines.pop(0)
    if not lines:
        return f"a failure at {where}" if where else "a failure without a message"
    first = lines[0] + (f" (at {where})" if where else "")
    return _first_lines("\n".join([first] + lines[1:]), 6)


def _first_lines(text: str, n: int) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    out = "\n".join(lines[:n])
    if len(lines) > n:
        out += "\n..."
    return out


def _failure_hint(log_tail: str) -> str:
    """A line of the output that says why, if there is one."""
    keys = ("lab:", "Failure", "failed", "deadlock", "stuck", "terminate called",
            "bad_alloc", "what():", "Sanitizer", "fatal")
    for line in reversed(log_tail.splitlines()):
        if any(k in line for k in keys):
            return line.strip()[:300]
    return ""


def judge(obs: Observation, test: str) -> Verdict:
    hint = _failure_hint(obs.log_tail)
    with_hint = (lambda r: f"{r}: {hint}" if hint else r)
    if obs.timed_out:
        return Verdict(False, f"timed out: still running after {obs.limit_seconds:g} s "
                              "(the limit for this test); killed")
    if obs.output_bytes >= obs.output_limit:
        return Verdict(False, f"printed more than {obs.output_limit // (1 << 20)} MiB of "
                              "output; killed")
    if obs.returncode == -signal.SIGXFSZ:
        # The same rlimit caps every file the run writes, not only its output.
        return Verdict(False, f"wrote a file larger than {obs.output_limit // (1 << 20)} MiB "
                              "(SIGXFSZ: the size limit of any one file a run writes; its "
                              f"output was only {obs.output_bytes} bytes)")
    rc = obs.returncode
    if rc is None:
        return Verdict(False, "no exit status (internal error in the grader)")
    if rc < 0:
        sig = -rc
        reason = _SIGNAL_REASONS.get(sig, f"was killed by signal {sig}")
        if "bad_alloc" in obs.log_tail or "Cannot allocate memory" in obs.log_tail:
            reason += f"; out of memory (limit {obs.memory_limit >> 20} MiB)"
        return Verdict(False, with_hint(reason))
    ok, why = _report_status(obs.report_path, test)
    if rc == 0:
        if not ok and why == "no GoogleTest report":
            return Verdict(False, "exited with status 0 before GoogleTest finished (no report): "
                                  "an early exit() or _exit() is a failure")
        if not ok:
            return Verdict(False, why)
        if os.path.exists(obs.premature_exit_path):
            return Verdict(False, "exited with status 0 but GoogleTest did not finish normally "
                                  "(its premature-exit file is still there)")
        return Verdict(True, "")
    if rc == 2 and "lab:" in obs.log_tail:
        return Verdict(False, with_hint("exit status 2: the lab runtime rejected its settings"))
    if rc == 3:
        return Verdict(False, with_hint("exit status 3: the lab runtime stopped a stuck task "
                                        "(one that never blocks)"))
    if not ok and why.startswith("failed: "):
        return Verdict(False, why)
    if ok:
        return Verdict(False, with_hint(f"exit status {rc} although GoogleTest passed the test "
                                        "(something failed after it)"))
    return Verdict(False, with_hint(f"exit status {rc}"))
