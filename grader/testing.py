# grader/testing.py
#
# Helpers for the grader's and the handout tool's unit tests: where the
# tree is (in `bazel test`'s runfiles or a checkout), and temporary files.

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def tree_root() -> Path:
    """The folder holding labs/ and grader/ (runfiles under Bazel)."""
    here = Path(__file__).resolve().parent.parent
    for base in (os.environ.get("TEST_SRCDIR"), ):
        if base:
            candidate = Path(base) / os.environ.get("TEST_WORKSPACE", "raftlabs")
            if (candidate / "labs").is_dir():
                return candidate
    return here


def write_files(root: Path, files: dict) -> Path:
    """Creates files {relative path: text} under root; returns root."""
    for rel, text in files.items():
        path = Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Path(root)


class TempDir:
    def __enter__(self) -> Path:
        self._d = tempfile.TemporaryDirectory(prefix="raftlabs-test-")
        return Path(self._d.name)

    def __exit__(self, *exc):
        self._d.cleanup()
        return False
