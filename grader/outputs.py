# grader/outputs.py
#
# The machine-readable results of a grade, in three formats:
#
#   --json FILE        everything: settings, seeds, every run (verdict,
#                      reason, time, replay command, output tail), scores
#   --junit FILE       JUnit XML, one <testcase> per run (CI dashboards)
#   --gradescope FILE  Gradescope's results.json: per test score, max_score,
#                      status and output
#
# Each file is rewritten whole after every finished run, by writing a
# temporary file and renaming it over the old one, so an interrupted grade
# (Ctrl-C, a killed grader) still leaves a complete, valid file whose
# "complete" flag (JSON) says whether the grade finished.

from __future__ import annotations

import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET

from grader import score as score_lib

OUTPUT_TAIL_CHARS = 8000


def atomic_write(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry: terminal escapes and other control bytes become '?'."""
    return _NOT_XML.sub("?", text)


def _tail(text: str, n: int = OUTPUT_TAIL_CHARS) -> str:
    return text if len(text) <= n else "[...]\n" + text[-n:]


def _round(x):
    return None if x is None else round(x, 3)


def run_record(r, replay: str) -> dict:
    j = r.job
    return {
        "part": j.part, "test": j.test, "runtime": j.runtime, "seed": j.seed,
        "passed": r.passed, "reason": r.reason, "seconds": round(r.seconds, 3),
        "limit_seconds": j.limit,
        "cpu_seconds": None if r.cpu_seconds is None else round(r.cpu_seconds, 3),
        "cpu_budget": j.cpu_budget if j.runtime == "sim" else None,
        "fingerprint": r.fingerprint or None,
        "replay": replay, "output_tail": _tail(r.log_tail),
    }


def to_json(summary: score_lib.Summary, meta: dict, replay_of) -> str:
    parts = []
    runs = []
    for p in summary.parts.values():
        tests = []
        for t in p.tests:
            tests.append({
                "name": t.name, "points": t.points, "max_points": t.max_points,
                "status": t.status, "runs": t.runs, "planned_runs": t.planned,
                "failures": t.failures, "mean_seconds": round(t.mean_seconds, 3),
                "max_seconds": round(t.max_seconds, 3),
                "mean_cpu_seconds": _round(t.mean_cpu_seconds),
                "max_cpu_seconds": _round(t.max_cpu_seconds),
            })
            runs.extend(run_record(r, replay_of(r)) for r in t.results)
        parts.append({"part": p.name, "title": p.title, "score": p.score,
                      "max_score": p.max_score, "tests": tests})
    doc = dict(meta)
    doc.update({
        "score": summary.total, "max_score": summary.max_total,
        "passed_runs": summary.passed_runs, "failed_runs": summary.failed_runs,
        "planned_runs": summary.planned_runs, "parts": parts, "runs": runs,
    })
    return json.dumps(doc, indent=2) + "\n"


def to_junit(summary: score_lib.Summary, replay_of) -> str:
    root = ET.Element("testsuites", name="raftlabs grade",
                      tests=str(summary.passed_runs + summary.failed_runs),
                      failures=str(summary.failed_runs))
    for p in summary.parts.values():
        results = [r for t in p.tests for r in t.results]
        suite = ET.SubElement(root, "testsuite", name=f"{p.name}: {p.title}",
                              tests=str(len(results)),
                              failures=str(sum(1 for r in results if not r.passed)),
                              time=f"{sum(r.seconds for r in results):.3f}")
        for r in results:
            j = r.job
            suite_name, _, case = j.test.partition(".")
            tc = ET.SubElement(suite, "testcase", classname=f"{p.name}.{suite_name}",
                               name=f"{case} [{j.runtime} seed={j.seed}]", time=f"{r.seconds:.3f}")
            if not r.passed:
                failure = ET.SubElement(tc, "failure",
                                        message=_xml_text(r.reason.splitlines()[0][:500]))
                failure.text = _xml_text(f"{r.reason}\nreplay: {replay_of(r)}\n\n{_tail(r.log_tail)}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_gradescope(summary: score_lib.Summary, replay_of, header: str, held: bool = False) -> str:
    """held: the score is withheld (0) until the instructor reviews the
    findings listed in the header (./grade --hold-for-review)."""
    tests = []
    for p in summary.parts.values():
        for t in p.tests:
            lines = [f"{t.runs}/{t.planned} runs, {t.failures} failed"]
            for r in t.results:
                if not r.passed:
                    lines.append(f"- {r.job.runtime} seed {r.job.seed}: {r.reason}")
                    if r.log_path:  # it ran (not a build failure)
                        lines.append(f"  replay: {replay_of(r)}")
            failed = [r for r in t.results if not r.passed and r.log_path]
            if failed:
                lines.append("")
                lines.append("Output of the first failed run:")
                lines.append(_tail(failed[0].log_tail, 4000))
            tests.append({
                "name": f"{p.name}: {t.name}",
                "score": t.points,
                "max_score": t.max_points,
                "status": "passed" if t.passed else "failed",
                "output": "\n".join(lines),
            })
    doc = {"score": summary.total, "output": header, "tests": tests}
    if held:
        doc["score"] = 0
        doc["output"] = (f"Score held for the instructor's review (it would be "
                         f"{summary.total:g}/{summary.max_total:g}); the findings are below.\n"
                         + header)
    return json.dumps(doc, indent=2) + "\n"


class Writers:
    """Rewrites the requested files from the current results."""

    def __init__(self, json_path=None, junit_path=None, gradescope_path=None):
        self.json_path = json_path
        self.junit_path = junit_path
        self.gradescope_path = gradescope_path

    def write(self, summary, meta, replay_of, header="", held=False):
        if self.json_path:
            atomic_write(self.json_path, to_json(summary, meta, replay_of))
        if self.junit_path:
            atomic_write(self.junit_path, to_junit(summary, replay_of))
        if self.gradescope_path:
            atomic_write(self.gradescope_path, to_gradescope(summary, replay_of, header, held))
