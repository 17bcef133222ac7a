# grader/build_sandbox.py
#
# The view a submission's build runs in (issue 15, item 5): with bubblewrap,
# Bazel (in --batch mode, so no server outlives the sandbox) and every
# compiler it starts see only
#
#   /usr (the toolchain, system headers and libraries; /bin, /lib... link
#   there), the few /etc files the toolchain needs (alternatives, the JDK's
#   settings, ld.so.cache, Bazel's rc), the pristine tree, this tree's Bazel
#   output root and the shared disk cache (writable), a private /tmp, /proc
#   and /dev; no network, a clean environment, a new session.
#
# So an `#include "/root/secret"` or `.incbin "/etc/shadow"` fails with
# "No such file or directory" naming the path, and nothing of the file
# reaches the errors or the binary. Without bubblewrap, wrap() returns the
# command unchanged and describe() says what is then not enforced.
#
#   box = BuildSandbox.detect()
#   argv = box.wrap(["bazel", ...], cwd=tree, writable=[tree, root, cache])

from __future__ import annotations

import glob
import os
import shutil
import subprocess

_ETC = ["/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
        "/etc/bazel", "/etc/bazel.bazelrc", "/etc/localtime"]


class BuildSandbox:
    def __init__(self, bwrap: str | None, problem: str = ""):
        self.bwrap = bwrap
        self.problem = problem

    @classmethod
    def detect(cls, use_bwrap: bool = True) -> "BuildSandbox":
        if not use_bwrap:
            return cls(None, "turned off with --no-bwrap")
        path = shutil.which("bwrap")
        if path is None:
            return cls(None, "bubblewrap is not installed")
        probe = cls(path).wrap(["/usr/bin/true"], cwd="/", writable=[])
        try:
            r = subprocess.run(probe, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError) as e:
            return cls(None, f"bubblewrap does not start here ({e})")
        if r.returncode != 0:
            why = (r.stderr.strip().splitlines() or ["no message"])[-1]
            return cls(None, f"bubblewrap does not work here: {why}")
        return cls(path)

    def describe(self) -> str:
        if self.bwrap:
            return ("builds in bubblewrap (the pristine tree, the toolchain and system "
                    "libraries only; no network)")
        return (f"builds not sandboxed ({self.problem}): an #include or .incbin of any file "
                "the grader can read is not stopped")

    def wrap(self, argv, cwd, writable, readable=()) -> list:
        if not self.bwrap:
            return list(argv)
        cmd = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session",
               "--ro-bind", "/usr", "/usr"]
        for link in ("bin", "lib", "lib32", "lib64", "sbin"):
            if os.path.islink(f"/{link}"):
                cmd += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
            elif os.path.isdir(f"/{link}"):
                cmd += ["--ro-bind", f"/{link}", f"/{link}"]
        for path in _ETC + sorted(glob.glob("/etc/java-*")):
            cmd += ["--ro-bind-try", path, path]
        cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for path in readable:
            cmd += ["--ro-bind", str(path), str(path)]
        for path in writable:
            cmd += ["--bind", str(path), str(path)]
        home = "/tmp/home"
        cmd += ["--dir", home, "--chdir", str(cwd), "--clearenv",
                "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", home,
                "--setenv", "USER", "grader", "--setenv", "LANG", "C.UTF-8", "--"]
        return cmd + list(argv)
