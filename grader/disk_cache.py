# grader/disk_cache.py
#
# Keeps Bazel's disk cache (--disk_cache; Bazel 4 only ever adds to it)
# within a size budget, without pulling files from under a build that is
# using it. Used by ./grade and by ./handout's check.
#
#   with build_lock(cache_dir / "disk-cache"):   # shared: builds run together
#       ... bazel build --disk_cache=<cache_dir>/disk-cache ...
#   result = prune(cache_dir / "disk-cache", parse_size("2G"))
#   print(result.describe())
#
# Pruning deletes the least recently used files (by the later of atime and
# mtime: atime alone is unreliable under relatime or noatime) until the
# cache is at most 3/4 of the limit, so the next few builds do not prune
# again; then the action results (ac/) that name a deleted file. It takes
# the lock <disk-cache>.lock exclusively and without waiting: while any build
# holds it, pruning is skipped. A file missing from the cache is only a cache
# miss to Bazel (it runs the action again), so pruning between builds is
# safe. Symbolic links are never followed, and nothing outside the cache
# folder, nor the folder itself, is ever deleted.

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import re
import stat
from pathlib import Path

DEFAULT_LIMIT = 2 << 30  # bytes
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+) *(?:([KMGT])(?:i?B)?|B)?", re.IGNORECASE)
SIZE_EXAMPLES = "write e.g. 500M, 2G, 1.5G, 1024K or a number of bytes; 0 for no limit"


def parse_size(text: str) -> int:
    """Bytes from "500M", "1.5G", "1024K", "123" (K, M, G and T are powers
    of 1024, and may be written KB or KiB). Raises ValueError saying why."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a size ({SIZE_EXAMPLES})")
    number, unit = m.group(1), (m.group(2) or "").upper()
    if not unit and "." in number:
        raise ValueError(f"{text!r}: a number of bytes is a whole number ({SIZE_EXAMPLES})")
    too_large = ValueError(f"{text!r} is too large ({SIZE_EXAMPLES})")
    if len(number) > 30:  # int() refuses over 4300 digits, and is slow long before
        raise too_large
    size = float(number) * _UNITS[unit] if unit else int(number)
    if size >= 2**63:
        raise too_large
    return int(size)


def format_size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            text = f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:.0f}"
            return f"{text} {unit}"
    return f"{n} B"


def lock_path(cache: Path) -> Path:
    return Path(str(cache) + ".lock")


@contextlib.contextmanager
def build_lock(cache: Path):
    """Held (shared) around builds that use the disk cache `cache`: any
    number of builds at once, but no pruning meanwhile. Waits only for a
    prune in progress."""
    path = lock_path(cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        yield


@dataclasses.dataclass
class PruneResult:
    cache: Path
    limit: int
    before: int = 0  # bytes of the cache's files when the prune started
    after: int = 0
    files: int = 0  # files in the cache when the prune started
    removed: int = 0  # files this prune deleted
    skipped: str = ""  # why the cache was not looked at, if it was not

    def describe(self) -> str:
        if self.skipped:
            return f"disk cache {self.cache} not pruned: {self.skipped}"
        if not self.limit:
            return f"disk cache: {format_size(self.before)} in {self.files} files (no limit)"
        if self.before > self.limit:
            return (f"disk cache: {format_size(self.before)} was over its limit of "
                    f"{format_size(self.limit)}; pruned to {format_size(self.after)} "
                    f"(removed {self.removed} files, least recently used first)")
        return f"disk cache: {format_size(self.before)} of its limit {format_size(self.limit)}"


@dataclasses.dataclass(frozen=True)
class _Entry:
    last_used: float  # the later of atime and mtime
    path: str
    size: int
    area: str  # the first folder under the cache: "ac", "cas", ... ("" for none)


def _scan(cache: Path) -> list:
    """The regular files under cache, never through a symbolic link.
    Files and folders that vanish meanwhile are left out."""
    entries = []
    # os.walk neither descends into linked folders (followlinks=False) nor
    # raises for a folder that vanished (no onerror).
    for dirpath, _, filenames in os.walk(cache, followlinks=False):
        rel = os.path.relpath(dirpath, cache)
        area = "" if rel == os.curdir else rel.split(os.sep)[0]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                entries.append(_Entry(max(st.st_atime, st.st_mtime), path, st.st_size, area))
    return entries


def _remove(e: _Entry, result: PruneResult) -> bool:
    """Deletes e's file; False if it is still there."""
    try:
        os.unlink(e.path)
        result.removed += 1
    except FileNotFoundError:
        pass  # gone already: it no longer takes space either
    except OSError:
        return False
    result.after -= e.size
    return True


# The SHA-256 digests an action result (ac/) names: its output files,
# stdout and stderr, each stored in cas/ under its digest. Bazel stores no
# empty blob.
_DIGEST = re.compile(rb"[0-9a-f]{64}")
_EMPTY_DIGEST = b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _remove_broken_results(survivors: list, result: PruneResult) -> None:
    """Deletes the action results that name a blob no longer in cas/.

    Bazel 4 takes such a result for a miss and runs the action again, but
    never replaces an existing result: if the action's output or stderr
    differs from run to run, the missing blob is never stored again and the
    action would miss forever."""
    blobs = {os.path.basename(e.path).encode() for e in survivors if e.area == "cas"}
    for e in survivors:
        if e.area != "ac":
            continue
        try:
            with open(e.path, "rb") as f:
                named = set(_DIGEST.findall(f.read(1 << 20)))
        except OSError:
            continue
        if named - blobs - {_EMPTY_DIGEST}:
            _remove(e, result)


def prune(cache: Path, limit: int) -> PruneResult:
    """Deletes least recently used files of the disk cache folder `cache`
    if they total more than `limit` bytes, until they total at most 3/4 of
    it, and then the action results that name a deleted file. limit 0 means
    no limit. Skips (result.skipped says why) while a build holds
    build_lock(cache)."""
    cache = Path(cache)
    result = PruneResult(cache, limit)
    if cache.is_symlink():
        result.skipped = "it is a symbolic link (give the real folder with --cache-dir)"
        return result
    if not cache.is_dir():
        return result
    try:
        lock = open(lock_path(cache), "a")
    except OSError as e:
        result.skipped = f"cannot open its lock file: {e}"
        return result
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            result.skipped = "another build is using it (pruned after a later build)"
            return result
        entries = _scan(cache)
        result.files = len(entries)
        result.before = result.after = sum(e.size for e in entries)
        if not limit or result.before <= limit:
            return result
        target = limit * 3 // 4
        survivors = []
        for e in sorted(entries, key=lambda e: (e.last_used, e.path)):
            if result.after <= target or not _remove(e, result):
                survivors.append(e)
        _remove_broken_results(survivors, result)
    return result
