# grader/disk_cache_test.py: the disk cache is pruned, least recently used
# first, to 3/4 of its limit only when over it, with the action results that
# name a removed blob; never outside its folder or through a link; never
# while a build holds the lock. Sizes parse, or say what to write.

import os
import subprocess
import sys
import unittest
from pathlib import Path
from unittest import mock

from grader import disk_cache
from grader.testing import TempDir

DAY = 86400.0
NOW = 1_700_000_000.0


def make_cache(root: Path, ages_days: dict, size=100) -> Path:
    """A Bazel 4 style cache: files {relative path: age in days}, each
    `size` bytes, last read and written that many days ago."""
    for rel, age in ages_days.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * size)
        os.utime(path, (NOW - age * DAY, NOW - age * DAY))
    return root


def files_under(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


class PruneTest(unittest.TestCase):
    def test_over_the_limit_removes_least_recently_used_down_to_three_quarters(self):
        with TempDir() as d:
            # Eight files of 100 bytes, a0 the oldest; limit 700 -> at most 525.
            cache = make_cache(d / "disk-cache", {
                "cas/a0": 8, "ac/a1": 7, "cas/a2": 6, "cas/a3": 5,
                "ac/a4": 4, "cas/a5": 3, "cas/a6": 2, "ac/a7": 1})
            r = disk_cache.prune(cache, 700)
            self.assertEqual((r.before, r.after, r.removed, r.files), (800, 500, 3, 8))
            self.assertEqual(files_under(cache), {"cas/a3", "ac/a4", "cas/a5", "cas/a6", "ac/a7"})
            self.assertIn("removed 3", r.describe())

    def test_a_recent_atime_counts_as_use(self):
        with TempDir() as d:
            cache = make_cache(d / "disk-cache", {"cas/old": 9, "cas/mid": 5, "cas/new": 1})
            # Written long ago but read yesterday: the later of the two counts.
            os.utime(cache / "cas/old", (NOW - 0.5 * DAY, NOW - 9 * DAY))
            r = disk_cache.prune(cache, 250)
            self.assertEqual(r.removed, 2)
            self.assertEqual(files_under(cache), {"cas/old"})

    def test_oldest_by_mtime_goes_first_when_atime_is_stale(self):
        with TempDir() as d:
            cache = make_cache(d / "disk-cache", {"cas/b": 1, "cas/a": 2})
            # noatime: atime stays at creation, mtime says which is newer.
            os.utime(cache / "cas/b", (NOW - 30 * DAY, NOW - 3 * DAY))
            os.utime(cache / "cas/a", (NOW - 30 * DAY, NOW - 2 * DAY))
            r = disk_cache.prune(cache, 199)
            self.assertEqual(r.removed, 1)
            self.assertEqual(files_under(cache), {"cas/a"})

    def test_action_results_naming_a_removed_blob_are_removed(self):
        with TempDir() as d:
            old, out, err = "a" * 64, "b" * 64, "c" * 64
            cache = make_cache(d / "disk-cache", {f"cas/{old[:2]}/{old}": 9}, size=1000)
            make_cache(cache, {f"cas/{out[:2]}/{out}": 2, f"cas/{err[:2]}/{err}": 2})
            empty = disk_cache._EMPTY_DIGEST.decode()
            # Results naming digests as Bazel's do (protobuf strings), newer
            # than the blobs they name.
            results = {"broken": [out, old], "whole": [out, err], "empty_stdout": [out, empty]}
            for name, digests in results.items():
                path = cache / "ac" / name[:2] / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"".join(b"\x0a\x42\x0a\x40" + h.encode() for h in digests))
                os.utime(path, (NOW - DAY, NOW - DAY))
            # 1200 bytes of blobs and 3 * 136 of results; the oldest blob is enough.
            r = disk_cache.prune(cache, 1000)
            self.assertEqual((r.before, r.after, r.removed), (1608, 472, 2))
            self.assertEqual(files_under(cache), {f"cas/{out[:2]}/{out}", f"cas/{err[:2]}/{err}",
                                                  "ac/wh/whole", "ac/em/empty_stdout"})

    def test_under_the_limit_nothing_is_removed(self):
        with TempDir() as d:
            cache = make_cache(d / "disk-cache", {"ac/x": 3, "cas/y": 2, "cas/z": 1})
            r = disk_cache.prune(cache, 300)
            self.assertEqual((r.before, r.after, r.removed), (300, 300, 0))
            self.assertEqual(files_under(cache), {"ac/x", "cas/y", "cas/z"})

    def test_limit_zero_means_no_limit(self):
        with TempDir() as d:
            cache = make_cache(d / "disk-cache", {"ac/x": 3, "cas/y": 2}, size=10_000)
            r = disk_cache.prune(cache, 0)
            self.assertEqual((r.before, r.removed), (20_000, 0))
            self.assertEqual(files_under(cache), {"ac/x", "cas/y"})
            self.assertIn("no limit", r.describe())

    def test_other_files_count_but_folders_and_outside_files_stay(self):
        with TempDir() as d:
            outside = make_cache(d, {"precious.txt": 100, "disk-cache-notes": 100}, size=1000)
            cache = make_cache(d / "disk-cache", {"cas/x": 2, "tmp/123-upload.tmp": 1, "stray": 3})
            r = disk_cache.prune(cache, 1)  # everything in the cache must go
            self.assertEqual((r.before, r.after, r.removed), (300, 0, 3))
            self.assertEqual(files_under(cache), set())
            self.assertTrue((cache / "cas").is_dir() and (cache / "tmp").is_dir())
            self.assertEqual((outside / "precious.txt").read_bytes(), b"x" * 1000)
            self.assertTrue((outside / "disk-cache-notes").exists())

    def test_links_are_not_followed(self):
        with TempDir() as d:
            outside = make_cache(d / "elsewhere", {"target": 100, "dir/inner": 100}, size=1000)
            cache = make_cache(d / "disk-cache", {"cas/x": 1})
            os.symlink(outside / "target", cache / "cas" / "link")
            os.symlink(outside / "dir", cache / "ac")
            r = disk_cache.prune(cache, 1)
            # Only cas/x was counted and removed; the links and their targets stay.
            self.assertEqual((r.before, r.removed), (100, 1))
            self.assertEqual(files_under(outside), {"target", "dir/inner"})
            self.assertTrue((cache / "cas" / "link").is_symlink())
            self.assertTrue((cache / "ac").is_symlink())

    def test_a_linked_cache_folder_is_not_pruned(self):
        with TempDir() as d:
            real = make_cache(d / "real", {"cas/x": 2, "cas/y": 1})
            os.symlink(real, d / "disk-cache")
            r = disk_cache.prune(d / "disk-cache", 1)
            self.assertIn("symbolic link", r.skipped)
            self.assertEqual(files_under(real), {"cas/x", "cas/y"})

    def test_files_vanishing_during_the_prune_are_tolerated(self):
        with TempDir() as d:
            cache = make_cache(d / "disk-cache", {"cas/a": 3, "cas/b": 2, "cas/c": 1})
            scan = disk_cache._scan

            def scan_then_lose_one(root):
                entries = scan(root)
                os.unlink(cache / "cas/a")  # e.g. another prune got there first
                return entries

            with mock.patch.object(disk_cache, "_scan", scan_then_lose_one):
                r = disk_cache.prune(cache, 250)
            self.assertEqual((r.before, r.after, r.removed), (300, 100, 1))
            self.assertEqual(files_under(cache), {"cas/c"})

    def test_a_missing_cache_is_empty(self):
        with TempDir() as d:
            r = disk_cache.prune(d / "disk-cache", 100)
            self.assertEqual((r.before, r.removed, r.skipped), (0, 0, ""))
            self.assertFalse((d / "disk-cache").exists())


class LockTest(unittest.TestCase):
    def test_skipped_while_a_build_in_this_process_holds_the_lock(self):
        with TempDir() as d:
            cache = make_cache(d / "disk-cache", {"cas/a": 2, "cas/b": 1})
            with disk_cache.build_lock(cache):
                r = disk_cache.prune(cache, 1)
            self.assertIn("another build is using it", r.skipped)
            self.assertEqual(files_under(cache), {"cas/a", "cas/b"})
            # Once the build is done, the next prune goes ahead.
            self.assertEqual(disk_cache.prune(cache, 1).removed, 2)

    def test_skipped_while_another_process_holds_the_shared_lock(self):
        with TempDir() as d:
            cache = make_cache(d / "disk-cache", {"cas/a": 2, "cas/b": 1})
            holder = subprocess.Popen(
                [sys.executable, "-c",
                 "import fcntl, sys\n"
                 "f = open(sys.argv[1], 'a')\n"
                 "fcntl.flock(f, fcntl.LOCK_SH)\n"
                 "print('held', flush=True)\n"
                 "sys.stdin.read()\n",
                 str(disk_cache.lock_path(cache))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                self.assertEqual(holder.stdout.readline().strip(), "held")
                r = disk_cache.prune(cache, 1)
                self.assertTrue(r.skipped)
                self.assertIn("not pruned", r.describe())
                self.assertEqual(files_under(cache), {"cas/a", "cas/b"})
                # Builds share it: a second one does not wait for the first.
                with disk_cache.build_lock(cache):
                    pass
            finally:
                holder.stdin.close()
                holder.wait(timeout=30)
                holder.stdout.close()
            self.assertEqual(disk_cache.prune(cache, 1).removed, 2)


class SizeTest(unittest.TestCase):
    def test_good_sizes(self):
        for text, size in (("500M", 500 << 20), ("2G", 2 << 30), ("1.5G", 3 << 29),
                           ("1024K", 1 << 20), ("1024", 1024), ("0", 0), ("2GiB", 2 << 30),
                           ("300mb", 300 << 20), ("1T", 1 << 40), (" 64 M ", 64 << 20)):
            self.assertEqual(disk_cache.parse_size(text), size, text)

    def test_bad_sizes_say_what_to_write(self):
        for text in ("", "12X", "G", "-1G", "1.5", "1e9", "2 GB extra", "9" * 40 + "G"):
            with self.assertRaisesRegex(ValueError, "write e.g. 500M", msg=text):
                disk_cache.parse_size(text)

    def test_format(self):
        self.assertEqual(disk_cache.format_size(2 << 30), "2 GiB")
        self.assertEqual(disk_cache.format_size(3 << 29), "1.5 GiB")
        self.assertEqual(disk_cache.format_size(812 << 20), "812 MiB")
        self.assertEqual(disk_cache.format_size(7), "7 B")


if __name__ == "__main__":
    unittest.main()
