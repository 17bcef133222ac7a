# grader/verdict.py
#
# Decides whether one test run passed, from evidence only: a run passes if
# and only if the process exited with status 0 AND GoogleTest's JSON report,
# which GoogleTest writes at the normal end of the program, lists exactly
# that test as run to completion without failures AND the premature-exit
# file GoogleTest deletes at the normal end is gone AND (when the runner gave
# the run a nonce) the framework's completion line carrying that nonce is in
# the output (raft/grading_channel.cc prints it; student code cannot learn
# the nonce, see README "Honesty"). An early exit(0), an _exit(0) from a
# destructor, a forged report or a printed "PASSED" line is a failure.
#
# The report is written by the run, so it is evidence to check, not to
# trust: it is opened without following links or blocking, must be a
# regular file under MAX_REPORT_BYTES, and any shape other than GoogleTest's
# is a failed run with the reason. judge() never raises.
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
import stat

MAX_REPORT_BYTES = 4 << 20
MAX_LOG_SCAN_BYTES = 256 << 20  # the completion line is searched in at most this much output
COMPLETION_PREFIX = "lab-grade "

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
    log_path: str = ""  # the whole output, searched for the completion line
    nonce: str = ""  # the run's secret; "" = no completion line expected


def completion_line(nonce: str, test: str) -> bytes:
    """What raft/grading_channel.cc prints when `test` ends passed."""
    return f"{COMPLETION_PREFIX}{nonce} passed {test}\n".encode()


@dataclasses.dataclass
class Verdict:
    passed: bool
    reason: str  # empty if passed


def read_report(path: str):
    """(parsed JSON or None, why not). Never follows a link, never blocks on a
    FIFO or device, never reads more than MAX_REPORT_BYTES."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        return None, "no GoogleTest report"
    except OSError as e:
        if os.path.islink(path):
            return None, "GoogleTest's report is a symbolic link (not trusted)"
        return None, f"GoogleTest's report cannot be opened ({e.strerror})"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "GoogleTest's report is not a regular file (not trusted)"
        if st.st_size > MAX_REPORT_BYTES:
            return None, (f"GoogleTest's report is {st.st_size} bytes "
                          f"(over {MAX_REPORT_BYTES >> 20} MiB; not read)")
        data = os.read(fd, MAX_REPORT_BYTES + 1)
    except OSError as e:
        return None, f"GoogleTest's report is unreadable ({e.strerror})"
    finally:
        os.close(fd)
    if len(data) > MAX_REPORT_BYTES:
        return None, f"GoogleTest's report grew over {MAX_REPORT_BYTES >> 20} MiB while read"
    try:
        return json.loads(data.decode("utf-8", errors="replace")), ""
    except (ValueError, RecursionError) as e:
        return None, f"GoogleTest's report is unreadable ({str(e)[:200]})"


def _report_status(path: str, test: str):
    """(ok, why) from GoogleTest's JSON report; any unexpected shape is a
    failure with its reason."""
    data, why = read_report(path)
    if data is None:
        return False, why
    malformed = (False, "GoogleTest's report is malformed (not GoogleTest's JSON)")
    if not isinstance(data, dict) or not isinstance(data.get("testsuites", []), list):
        return malformed
    suite_name, _, case_name = test.partition(".")
    found = []
    for suite in data.get("testsuites", []):
        if not isinstance(suite, dict) or not isinstance(suite.get("testsuite", []), list):
            return malformed
        for case in suite.get("testsuite", []):
            if not isinstance(case, dict):
                return malformed
            if suite.get("name") == suite_name and case.get("name") == case_name:
                found.append(case)
    if not found:
        return False, f"GoogleTest's report does not list {test} (is it in the test binary?)"
    if len(found) > 1:
        return False, f"GoogleTest's report lists {test} more than once"
    case = found[0]
    failures = case.get("failures") or []
    if not isinstance(failures, list):
        return malformed
    if failures:
        first = failures[0]
        text = first.get("failure", "") if isinstance(first, dict) else first
        return False, "failed: " + _failure_text(str(text))
    if case.get("status") != "RUN":
        return False, f"did not run (status {str(case.get('status'))[:40]!r})"
    if case.get("result") != "COMPLETED":
        return False, f"did not complete (result {str(case.get('result'))[:40]!r}; skipped?)"
    return True, ""


def saw_completion(log_path: str, nonce: str, test: str) -> bool:
    """Whether the run's output holds the framework's completion line."""
    want = completion_line(nonce, test)
    try:
        fd = os.open(log_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        carry = b""
        scanned = 0
        while scanned < MAX_LOG_SCAN_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return False
            scanned += len(chunk)
            data = carry + chunk
            if want in data:
                return True
            carry = data[-len(want):]
        return False
    except OSError:
        return False
    finally:
        os.close(fd)


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
    try:
        return _judge(obs, test)
    except Exception as e:  # noqa: BLE001 - a run's evidence must never crash the grade
        return Verdict(False, f"the grader could not judge this run ({type(e).__name__}: "
                              f"{str(e)[:200]}); counted as a failure")


def _judge(obs: Observation, test: str) -> Verdict:
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
        if os.path.lexists(obs.premature_exit_path):
            return Verdict(False, "exited with status 0 but GoogleTest did not finish normally "
                                  "(its premature-exit file is still there)")
        if obs.nonce and not saw_completion(obs.log_path, obs.nonce, test):
            return Verdict(False, "exited with status 0 and a passing report, but the tester "
                                  "never reported the test's completion (a forged report, or "
                                  "the test ended outside the tester)")
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
