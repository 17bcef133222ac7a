# grader/build.py
#
# Builds the test binaries a grade needs, with Bazel, and copies each one
# (with the shared libraries it loads from Bazel's _solib_k8 folder) into the
# grade's own folder, so that runs never see a later rebuild of the tree.
#
#   b = Builder(tree, bazel_startup=[...], log_dir=work / "build")
#   result = b.build("//raft:raft_test", stage_dir)   # BuildResult
#   result.ok, result.binary, result.error
#
# Each target is built by its own `bazel build` so a failure is never
# mistaken for a success of an older binary. Test binaries are linked
# statically for grading (--dynamic_mode=off: the tree's libraries are linked
# into the binary, not loaded as shared objects), so a student definition of
# a framework symbol is "multiple definition of ..." at link time instead of
# a silent replacement at load time (the audit, grader/audit.py, rejects the
# rest). A submission's build can run in a sandbox (grader/build_sandbox.py):
# Bazel then runs in --batch mode with its own output root, so no Bazel
# server outlives the sandbox.

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import time
from pathlib import Path


@dataclasses.dataclass
class BuildResult:
    target: str
    ok: bool
    binary: str | None = None  # the staged copy the runs use
    tree_binary: str | None = None  # where Bazel put it (for a command to paste)
    error: str = ""  # a short explanation (and the compiler's errors) when not ok
    seconds: float = 0.0


def split_label(target: str):
    package, _, name = target[2:].partition(":")
    return package, name


def bazel_build_args(disk_cache: str | None):
    args = ["--noshow_progress", "--color=no", "--curses=no", "--dynamic_mode=off"]
    if disk_cache:
        args.append(f"--disk_cache={disk_cache}")
    return args


class Builder:
    def __init__(self, tree: Path, startup=(), disk_cache=None, log_dir: Path | None = None,
                 sandbox=None, output_root: Path | None = None):
        """With `sandbox` (a BuildSandbox that has bubblewrap), builds in it,
        in --batch mode under `output_root`."""
        self.tree = Path(tree)
        self.startup = list(startup)
        self.disk_cache = disk_cache
        self.log_dir = log_dir
        self.sandbox = sandbox if sandbox is not None and sandbox.bwrap else None
        self.output_root = Path(output_root) if output_root else None
        if self.sandbox:
            self.output_root.mkdir(parents=True, exist_ok=True)
            self.startup = ["--batch", f"--output_user_root={self.output_root}", "--nohome_rc"]

    def wrap(self, argv, cwd=None):
        """argv to run in the build's view (unchanged without a sandbox)."""
        if not self.sandbox:
            return list(argv)
        writable = [self.tree, self.output_root] + ([self.disk_cache] if self.disk_cache else [])
        return self.sandbox.wrap(argv, cwd=cwd or self.tree, writable=writable)

    def _bazel(self, *args, capture=True, timeout=3600):
        if self.disk_cache:
            Path(self.disk_cache).mkdir(parents=True, exist_ok=True)
        cmd = self.wrap(["bazel", *self.startup, *args])
        return subprocess.run(cmd, cwd=self.tree, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace", timeout=timeout)

    def build(self, target: str, stage_root: Path, extra_args=(), stage_suffix="") -> BuildResult:
        """Builds `target` (with `extra_args` for Bazel, e.g. race.BAZEL_ARGS)
        and stages it under stage_root, in a folder named after the target
        and `stage_suffix`."""
        package, name = split_label(target)
        if not (self.tree / package / "BUILD").exists() and not (self.tree / package / "BUILD.bazel").exists():
            return BuildResult(target, False, error=f"{target} is not in this tree (no {package}/BUILD)")
        t0 = time.monotonic()
        try:
            r = self._bazel("build", *bazel_build_args(self.disk_cache), *extra_args, "--", target)
        except FileNotFoundError:
            return BuildResult(target, False, error="bazel is not installed (run tools/bootstrap.sh)")
        except subprocess.TimeoutExpired:
            return BuildResult(target, False, error=f"bazel build {target} took over an hour")
        seconds = time.monotonic() - t0
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            (self.log_dir / f"{package.replace('/', '_')}_{name}{stage_suffix}.log").write_text(r.stdout)
        if r.returncode != 0:
            return BuildResult(target, False, error=_build_errors(target, r.stdout), seconds=seconds)
        bin_dir = self.tree / "bazel-bin"
        binary = bin_dir / package / name
        if not binary.exists():
            return BuildResult(target, False, error=f"bazel built {target} but {binary} is missing",
                               seconds=seconds)
        stage = Path(stage_root) / f"{package.replace('/', '_')}_{name}{stage_suffix}"
        staged = stage / package / name
        staged.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(binary, staged)
        solib = bin_dir / "_solib_k8"
        if solib.is_dir():
            dest = stage / "_solib_k8"
            dest.mkdir(parents=True, exist_ok=True)
            for lib in solib.iterdir():
                if lib.is_file():
                    shutil.copy(lib, dest / lib.name)  # follows Bazel's symlinks
        for path in [stage, *stage.rglob("*")]:
            os.chmod(path, 0o755)
        return BuildResult(target, True, binary=str(staged), tree_binary=str(binary),
                           seconds=seconds)

    def shutdown(self):
        try:
            self._bazel("shutdown", timeout=120)
        except (OSError, subprocess.SubprocessError):
            pass


def parse_test_list(output: str) -> frozenset:
    """Test names from a GoogleTest binary's --gtest_list_tests output."""
    names = set()
    suite = None
    for line in output.splitlines():
        if not line.strip() or line.startswith("Running main()"):
            continue
        if not line.startswith(" "):
            suite = line.split("#")[0].strip().rstrip(".")
        elif suite:
            names.add(f"{suite}.{line.split('#')[0].strip()}")
    return frozenset(names)


def _build_errors(target: str, output: str, max_lines: int = 40) -> str:
    """The compiler's and Bazel's error lines, trimmed."""
    lines = output.splitlines()
    keep = []
    for i, line in enumerate(lines):
        if re.search(r"\berror\b|Error:|ERROR:|undefined reference|multiple definition|no such (target|package)", line):
            for extra in lines[i:i + 4]:
                if extra not in keep[-6:]:
                    keep.append(extra)
    if not keep:
        keep = lines[-15:]
    if len(keep) > max_lines:
        keep = keep[:max_lines] + [f"... ({len(keep) - max_lines} more lines)"]
    return f"{target} did not build:\n" + "\n".join("    " + line for line in keep)
