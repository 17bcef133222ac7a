# grader/tree.py
#
# Where a submission is built: a pristine copy of this tree, kept at a stable
# place (so Bazel's outputs there stay warm and repeated grades rebuild only
# what changed), into which only the student-editable files
# (labs/student_files.txt) are copied from the submission. Nothing else in
# the submission reaches the build: the tests and the framework are this
# tree's.
#
#   sub = collect_submission(Path("sub"), student_files)   # which file is which
#   with locked_tree(cache_dir, source_root) as dest:
#       notes = sync_tree(source_root, dest, student_files, sub)
#       ... bazel build in dest ...
#
# A student-editable file missing from the submission gets the handout's
# version (this tree's file with its solution regions stripped), never the
# reference solution.

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import shutil
from pathlib import Path

from handout_tool import markers

MAX_SUBMITTED_FILE = 2 << 20  # bytes
MAX_SUBMISSION_FILES = 10_000


class SubmissionError(Exception):
    pass


@dataclasses.dataclass
class Submission:
    root: Path
    files: dict  # student path -> Path of the submitted file
    missing: list  # student paths not in the submission
    ignored: list  # (path in the submission, why)


def is_skipped(rel_parts) -> bool:
    """Files of a tree that are never copied: VCS, Bazel links, caches."""
    top = rel_parts[0]
    if top in (".git", ".cache") or top.startswith("bazel-"):
        return True
    return any(p == "__pycache__" for p in rel_parts)


def tree_files(root: Path) -> list:
    """Relative paths of the tree's files (sorted), without skipped ones."""
    out = []
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        keep = []
        for d in dirnames:
            parts = (rel_dir / d).parts
            if not is_skipped(parts) and not os.path.islink(os.path.join(dirpath, d)):
                keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            rel = rel_dir / f
            if is_skipped(rel.parts):
                continue
            full = os.path.join(dirpath, f)
            if os.path.islink(full) and not os.path.exists(full):
                continue
            out.append(rel.as_posix())
    return sorted(out)


def collect_submission(directory: Path, student_paths) -> Submission:
    """Matches the files in `directory` to the student-editable paths.

    A file is found at its path in the tree (sub/raft/raft.cc), at any depth
    (sub/lab/raft/raft.cc), or by its name alone (sub/raft.cc)."""
    directory = Path(directory)
    if not directory.exists():
        raise SubmissionError(f"submission folder {directory} does not exist")
    if not directory.is_dir():
        raise SubmissionError(f"submission {directory} is not a folder")
    found = []  # relative posix paths of regular files
    ignored = []
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in list(dirnames):
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                ignored.append((os.path.relpath(full, directory), "a symbolic link"))
                dirnames.remove(name)
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, directory)
            if os.path.islink(full):
                ignored.append((rel, "a symbolic link"))
            elif not os.path.isfile(full):
                ignored.append((rel, "not a regular file"))
            else:
                found.append(Path(rel).as_posix())
            if len(found) + len(ignored) > MAX_SUBMISSION_FILES:
                raise SubmissionError(f"submission {directory} has more than "
                                      f"{MAX_SUBMISSION_FILES} files")
    files = {}
    used = set()
    for student in student_paths:
        exact = [f for f in found if f == student or f.endswith("/" + student)]
        if len(exact) > 1:
            raise SubmissionError(f"submission has {len(exact)} candidates for {student}: "
                                  + ", ".join(sorted(exact)))
        candidates = exact or [f for f in found if f.rsplit("/", 1)[-1] == student.rsplit("/", 1)[-1]]
        if len(candidates) > 1:
            raise SubmissionError(f"submission has {len(candidates)} files named "
                                  f"{student.rsplit('/', 1)[-1]} ({', '.join(sorted(candidates))}); "
                                  f"put it at {student}")
        if candidates:
            rel = candidates[0]
            size = (directory / rel).stat().st_size
            if size > MAX_SUBMITTED_FILE:
                raise SubmissionError(f"submitted {rel} is {size} bytes (limit {MAX_SUBMITTED_FILE})")
            files[student] = directory / rel
            used.add(rel)
    for f in found:
        if f not in used:
            ignored.append((f, "not a student-editable file"))
    missing = [s for s in student_paths if s not in files]
    return Submission(directory, files, missing, sorted(ignored))


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "raftlabs"


def pristine_path(cache: Path, source_root: Path) -> Path:
    digest = hashlib.sha256(str(Path(source_root).resolve()).encode()).hexdigest()[:12]
    return Path(cache) / "trees" / f"{Path(source_root).resolve().name}-{digest}"


@contextlib.contextmanager
def locked_tree(cache: Path, source_root: Path, on_wait=None):
    """The pristine tree's path, held exclusively (another ./grade waits)."""
    dest = pristine_path(cache, source_root)
    dest.mkdir(parents=True, exist_ok=True)
    with open(str(dest) + ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait(dest)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield dest


def write_if_changed(dest: Path, data: bytes) -> bool:
    try:
        if dest.read_bytes() == data:
            return False
    except OSError:
        pass
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    dest.write_bytes(data)
    return True


def handout_version(source_root: Path, rel: str, known_parts) -> bytes:
    """The tree's file with its solution regions stripped."""
    text = (Path(source_root) / rel).read_text(encoding="utf-8")
    stripped, _ = markers.strip(text, known_parts, rel)
    return stripped.encode("utf-8")


def sync_tree(source_root: Path, dest: Path, student_paths, submission: Submission | None,
              known_parts) -> list:
    """Makes dest a copy of source_root with the submission's student files.

    Returns notes for the report. Files are rewritten only when their bytes
    change, so Bazel rebuilds only what the submission changed."""
    source_root = Path(source_root)
    dest = Path(dest)
    notes = []
    wanted = set()
    students = set(student_paths)
    for rel in tree_files(source_root):
        if rel in students:
            continue
        wanted.add(rel)
        src = source_root / rel
        if write_if_changed(dest / rel, src.read_bytes()):
            shutil.copymode(src, dest / rel)
    for rel in student_paths:
        if submission is not None and rel in submission.files:
            data = submission.files[rel].read_bytes()
        elif (source_root / rel).exists():
            data = handout_version(source_root, rel, known_parts)
            if submission is not None:
                notes.append(f"{rel} is not in the submission: graded with the handout's version")
        else:
            continue  # not in this tree (e.g. a lab that has not landed)
        wanted.add(rel)
        write_if_changed(dest / rel, data)
    for rel in tree_files(dest):
        if rel not in wanted:
            (dest / rel).unlink()
    return notes
