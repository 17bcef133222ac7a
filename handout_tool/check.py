# handout_tool/check.py
#
# Checks a freshly written handout tree the way a student will first meet
# it: it must build (`bazel build //...` and every rubric target), and its
# own ./grade, run once per test in the sim runtime, must fail every test
# cleanly and quickly: a failed assertion with a message, within the test's
# time limit, no crash, no hang, and the grader itself finishing normally.
# A test that passes on the skeleton is reported too (free points).
# Bazel's disk cache is pruned to its default limit after the build, as
# ./grade does (grader/disk_cache.py).
# Afterwards the Bazel server started in the handout tree is shut down.
#
#   problems, summary = check_handout(out_dir, catalogue, log=print)

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from grader import build as build_lib
from grader import disk_cache as disk_cache_lib
from grader import tree as tree_lib


def _clean(reason: str) -> bool:
    """A failure the student can read, not a crash or a hang."""
    return reason.startswith("failed: ")


def check_handout(out: Path, catalogue, log=print, runtime="sim", seed=1):
    """Returns (problems: list of str, lines of a summary)."""
    out = Path(out).resolve()
    problems = []
    summary = []
    disk_cache = tree_lib.cache_root() / "disk-cache"
    t0 = time.monotonic()
    log(f"handout: building the handout tree (bazel build //... in {out}) ...")
    targets = sorted({p.target for p in catalogue.values()
                      if (out / build_lib.split_label(p.target)[0] / "BUILD").exists()})
    with disk_cache_lib.build_lock(disk_cache):
        r = subprocess.run(["bazel", "build", *build_lib.bazel_build_args(str(disk_cache)), "--",
                            "//...", *targets], cwd=out, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
    summary.append(f"build: {time.monotonic() - t0:.0f} s")
    log("handout: " + disk_cache_lib.prune(disk_cache, disk_cache_lib.DEFAULT_LIMIT).describe())
    try:
        if r.returncode != 0:
            problems.append(build_lib._build_errors("the handout tree", r.stdout))
            return problems, summary
        log("handout: built; grading the skeleton (every test once, "
            f"{runtime}, seed {seed}) with the handout's own ./grade ...")
        with tempfile.TemporaryDirectory(prefix="raftlabs-handout-check-") as tmp:
            results = os.path.join(tmp, "results.json")
            t1 = time.monotonic()
            g = subprocess.run([str(out / "grade"), "--runtime", runtime, "--seeds", str(seed),
                                "--json", results], cwd=out, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace")
            summary.append(f"grading the skeleton: {time.monotonic() - t1:.0f} s")
            if g.returncode not in (0, 1):
                problems.append(f"the handout's ./grade exited with status {g.returncode}:\n"
                                + g.stdout[-3000:])
                return problems, summary
            try:
                with open(results, encoding="utf-8") as f:
                    doc = json.load(f)
            except (OSError, ValueError) as e:
                problems.append(f"the handout's ./grade wrote no valid results ({e}):\n"
                                + g.stdout[-3000:])
                return problems, summary
        if not doc.get("complete"):
            problems.append("the handout's ./grade did not finish its runs")
        runs = doc.get("runs", [])
        passed = [x for x in runs if x["passed"]]
        unclean = [x for x in runs if not x["passed"] and not _clean(x["reason"])]
        slowest = max((x["seconds"] for x in runs), default=0.0)
        summary.append(f"{len(runs)} runs: {len(runs) - len(passed)} failed "
                       f"({len(runs) - len(passed) - len(unclean)} cleanly), {len(passed)} passed; "
                       f"slowest {slowest:.1f} s")
        for x in unclean:
            problems.append(f"{x['test']} does not fail cleanly on the skeleton "
                            f"({x['seconds']:.1f} s): {x['reason'].splitlines()[0]}")
        for x in passed:
            problems.append(f"{x['test']} passes on the skeleton (free points?)")
        expected = {t.name for name in doc.get("graded_parts", []) for t in catalogue[name].tests}
        missing = expected - {x["test"] for x in runs}
        for name in sorted(missing):
            problems.append(f"{name} did not run")
        return problems, summary
    finally:
        subprocess.run(["bazel", "shutdown"], cwd=out, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
