# grader/run_limits.py
#
# Turns what a finished run used (grader/sandbox.py's Usage) into its
# verdict's last word: a run that hit a limit of the whole run (memory,
# processes, its folder's size) fails with that limit named, whatever it
# printed or reported; a sim run that passed but used more CPU than its
# rubric's budget (labs/README.md, `cpu_budget`) fails with
# "used N s of CPU; the budget is M s".
#
#   passed, reason = apply(verdict.passed, verdict.reason, usage, settings, job)

from __future__ import annotations


def limit_reasons(usage, settings) -> list:
    """One phrase per limit of the whole run that the run hit."""
    out = []
    if usage.memory_exceeded:
        out.append(f"used more than its memory limit ({settings.memory_mib} MiB for the whole run, "
                   "all its processes together); the kernel killed it")
    if usage.processes_exceeded:
        out.append(f"tried to have more than {settings.processes} processes and threads at once "
                   "(the limit for the whole run)")
    if usage.disk_exceeded:
        out.append(f"filled its folder (the limit is {settings.disk_mib} MiB, or 10000 files, for "
                   "everything the run writes)")
    return out


def apply(passed: bool, reason: str, usage, settings, job):
    hit = limit_reasons(usage, settings)
    if hit:
        text = "; ".join(hit)
        if reason:
            text += f"; then: {reason}"
        return False, text
    budget = job.cpu_budget if job is not None and job.runtime == "sim" else None
    if passed and budget is not None and usage.cpu_seconds is not None \
            and usage.cpu_seconds > budget:
        return False, (f"used {usage.cpu_seconds:.1f} s of CPU; the budget is {budget:g} s "
                       "(a solution that burns CPU, e.g. busy polling or copying the whole "
                       "log at every heartbeat)")
    return passed, reason
