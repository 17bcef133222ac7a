# grader/race.py
#
# Race mode (./grade --race, or `race = true` in a part's rubric): the test
# binaries are built with ThreadSanitizer and a run that TSan reports fails,
# with the race's two accesses (where, and in which tasks) as the reason.
# In sim the report is deterministic: the runtime tells TSan that tasks
# synchronize only through the lab primitives (labrpc/runtime/race.h), so
# the same seed reports the same race every time.
#
#   builder = build.Builder(tree, ..., build_args=race.BAZEL_ARGS)
#   env["TSAN_OPTIONS"] = race.TSAN_OPTIONS
#   reason = race.reason_from_log(log_text)   # None if TSan said nothing
#   v = race.judge(verdict.judge(obs, test), log_text)

from __future__ import annotations

import re

from grader import verdict

# Bazel flags of a race build: .bazelrc's tsan config, with its outputs in a
# folder of their own (k8-fastbuild-tsan) so the normal build stays cached.
BAZEL_ARGS = ("--config=tsan", "--platform_suffix=tsan")

# The exit status TSan gives a run it reported (distinct from the runtime's
# own codes, see lab::kStuckTaskExitCode).
EXIT_CODE = 66

# Stop at the first report, so that it ends the log and is the reason.
TSAN_OPTIONS = f"halt_on_error=1 exitcode={EXIT_CODE} second_deadlock_stack=1"

# Time limits are multiplied by this in race mode. In sim TSan costs about 70
# times the CPU (measured on the reference, Lab 2 seed 1: 1.8 s -> 130 s), but
# the limits' margins are wide: the slowest reference test, ReliableChurn,
# used 75 s of CPU under TSan against its 120 s x 8. In threads the tests
# mostly sleep on the wall clock, so TSan costs them much less.
TIMEOUT_FACTOR = {"sim": 8.0, "threads": 4.0}

_WARNING = re.compile(r"^WARNING: ThreadSanitizer: (.+?)(?: \(pid=\d+\))?$", re.MULTILINE)
_ACCESS = re.compile(r"^  (Previous )?((?:[Aa]tomic )?(?:[Rr]ead|[Ww]rite)) of size \d+ at \S+ by "
                     r"(main thread|thread (T\d+))(?: \(mutexes: [^)]*\))?:$")
_FRAME = re.compile(r"^    #\d+ (.*?) (\S+:\d+)(?::\d+)? \(")
_THREAD = re.compile(r"^  Thread (T\d+) '(.*)' \(tid=")

# Frames that are not the lab code's own: the standard library, TSan, the
# runtime's internals.
_NOT_LAB_CODE = re.compile(r"^(/|\.\./|<null>)|^labrpc/runtime/(?!race_fixture)")


def reason_from_log(log: str, frames_per_access: int = 2) -> str | None:
    """The reason a run fails from ThreadSanitizer's first report in `log`,
    or None if there is no report."""
    m = _WARNING.search(log)
    if m is None:
        return None
    kind = m.group(1)
    block = log[m.start():]
    end = block.find("\n==================")
    if end != -1:
        block = block[:end]
    lines = block.splitlines()
    names = {}
    for line in lines:
        t = _THREAD.match(line)
        if t:
            names[t.group(1)] = t.group(2)
    accesses = []  # (what, who, [frames])
    for line in lines:
        a = _ACCESS.match(line)
        if a:
            what = ("previous " if a.group(1) else "") + a.group(2).lower()
            who = "the test's main thread" if a.group(3) == "main thread" else \
                _task(names.get(a.group(4)), a.group(4))
            accesses.append((what, who, []))
            continue
        f = _FRAME.match(line)
        if f and accesses and not _NOT_LAB_CODE.search(f.group(2)):
            accesses[-1][2].append(f"{f.group(1)} ({f.group(2)})")
    if kind != "data race" or len(accesses) < 2:
        summary = re.search(r"^SUMMARY: ThreadSanitizer: (.*)$", block, re.MULTILINE)
        return f"ThreadSanitizer: {summary.group(1) if summary else kind}"
    (what1, who1, frames1), (what2, who2, frames2) = accesses[0], accesses[1]
    out = [f"data race (ThreadSanitizer): {what1} in {who1}, {what2} in {who2}"]
    for what, frames in ((what1, frames1), (what2, frames2)):
        shown = frames[:frames_per_access] or ["(no frame of lab code; see the log)"]
        out.append(f"{what} at {shown[0]}")
        out.extend(f"  called from {f}" for f in shown[1:])
    return "\n".join(out)


def _task(name: str | None, thread: str) -> str:
    # The sim runtime names each TSan fiber "<task name> (task <id>)".
    return f"task \"{name}\"" if name else f"thread {thread}"


def build_key(target: str, race: bool) -> str:
    """The key of a build of `target` in the grade's table of builds."""
    return f"{target} (race)" if race else target


def split_key(key: str):
    """(target, race) from build_key's result."""
    if key.endswith(" (race)"):
        return key[: -len(" (race)")], True
    return key, False


def judge(v, log_tail: str):
    """The verdict of a race run: failed, with TSan's report as the reason,
    if TSan reported something; otherwise `v` unchanged."""
    reason = reason_from_log(log_tail)
    if reason is None:
        return v
    return verdict.Verdict(False, reason)
