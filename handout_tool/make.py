# handout_tool/make.py
#
# Writes the student tree: every file of this tree except the instructor-only
# ones (labs/instructor_only.txt) and those never copied (.git, bazel-*
# links, caches); the student-editable files (labs/student_files.txt) with
# their solution regions stripped (handout_tool/markers.py); and
# labs/STUDENT_README.md as the tree's README.md.
#
# A stripped student file must read as the student's: plan_handout refuses
# one that would still show the reference solution (handout_tool/leaks.py).
#
#   plan = plan_handout(root, catalogue, student_files, patterns)   # checks everything
#   write_handout(plan, out_dir)
#
# plan_handout reads and strips everything before anything is written, so a
# marker error or a leak leaves no half-written tree.

from __future__ import annotations

import dataclasses
import fnmatch
import os
import shutil
from pathlib import Path

from grader import tree as tree_lib
from handout_tool import leaks, markers

SOURCE_SUFFIXES = (".h", ".cc", ".cpp", ".hpp", ".c", ".inc")
STUDENT_README = "labs/STUDENT_README.md"


class HandoutError(Exception):
    pass


@dataclasses.dataclass
class Plan:
    root: Path
    copies: list  # relative paths copied as they are
    stripped: dict  # relative path -> stripped text
    regions: dict  # relative path -> Counter of regions per part
    left_out: list  # relative paths not in the handout
    skipped_students: list  # listed student files that are not in this tree


def is_instructor_only(rel: str, patterns) -> bool:
    for _, pattern in patterns:
        if pattern.endswith("/"):
            if rel.startswith(pattern) or fnmatch.fnmatch(rel, pattern + "*"):
                return True
        elif fnmatch.fnmatch(rel, pattern):
            return True
    return False


def plan_handout(root: Path, catalogue, student_files, patterns) -> Plan:
    root = Path(root)
    known = set(catalogue)
    students = {f.path for f in student_files}
    plan = Plan(root, [], {}, {}, [], [])
    leaked = []
    for f in student_files:
        if not (root / f.path).exists():
            plan.skipped_students.append(f.path)
    for rel in tree_lib.tree_files(root):
        if rel == "README.md":
            continue  # replaced by the student README
        if is_instructor_only(rel, patterns):
            plan.left_out.append(rel)
            continue
        if rel in students:
            text = (root / rel).read_text(encoding="utf-8")
            stripped, counts = markers.strip(text, known, rel)  # raises MarkerError
            leaked += leaks.find(text, rel)
            plan.stripped[rel] = stripped
            plan.regions[rel] = counts
            continue
        if rel.endswith(SOURCE_SUFFIXES):
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                if markers._LOOSE.match(line):
                    raise markers.MarkerError(rel, number, "solution marker in a file that is not "
                                                           "student-editable (list it in "
                                                           "labs/student_files.txt or remove it)")
        plan.copies.append(rel)
    if leaked:
        raise HandoutError("the handout's student files would show the reference solution:\n  "
                           + "\n  ".join(leaked))
    if not (root / STUDENT_README).exists():
        raise HandoutError(f"{STUDENT_README} is missing: it becomes the handout's README.md")
    return plan


def write_handout(plan: Plan, out: Path) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for rel in plan.copies:
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(plan.root / rel, dest)
    for rel, text in plan.stripped.items():
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        shutil.copymode(plan.root / rel, dest)
    shutil.copy2(plan.root / STUDENT_README, out / "README.md")


def check_out_dir(root: Path, out: Path, force: bool) -> None:
    root = Path(root).resolve()
    out_resolved = Path(os.path.abspath(out))
    if out_resolved == root or root in out_resolved.parents:
        raise HandoutError(f"{out} is inside this tree ({root}): pick a folder outside it")
    if out_resolved in root.parents:
        raise HandoutError(f"{out} contains this tree: pick another folder")
    if out.exists():
        if not out.is_dir():
            raise HandoutError(f"{out} exists and is not a folder")
        if any(out.iterdir()):
            if not force:
                raise HandoutError(f"{out} is not empty (use --force to replace its contents)")
            for child in out.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
