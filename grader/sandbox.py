# grader/sandbox.py
#
# Starts one test process, isolated, and cleans up after it. Every run gets:
#
#   - its own process group (and session), killed as a whole when the run ends;
#   - resource limits: CPU seconds, address space, thread stack size, core
#     dumps off, open files, processes (RLIMIT_NPROC), and an output cap (the
#     log is a file and RLIMIT_FSIZE stops the writer with SIGXFSZ);
#   - its own temporary directory (cwd, HOME and TMPDIR);
#   - when running as root: a uid of its own (one per job slot, from a block
#     of uids this grader has claimed, so no other process has it), so
#     RLIMIT_NPROC stops a fork bomb and every leftover process of that uid
#     is killed at the end, wherever it went;
#   - when bubblewrap works here: no network, a read-only view of the whole
#     file system, a private /tmp, new PID/IPC/UTS namespaces and no
#     capabilities (see Sandbox.describe()).
#
#   box = Sandbox.detect()
#   proc = box.start(argv, env, run_dir, log_file, limits, slot=0)
#   ... proc.poll() ...; box.cleanup(proc, slot=0)
#
# The caller (grader/runner.py) enforces the wall-clock limit by polling and
# calling kill(); this module never waits.

from __future__ import annotations

import ctypes
import dataclasses
import fcntl
import os
import resource
import shutil
import signal
import subprocess

# Dedicated uids for job slots when running as root: far above any real
# user. Each grader process holds a block of _UID_BLOCK uids of its own
# (several graders may run at once, and each kills every process of its
# uids), claimed with a lock file that the kernel releases when it exits.
_UID_BASE = 2_900_000
_UID_BLOCK = 1000
_UID_BLOCKS = 1000
_UID_LOCK_DIR = "/run/lock/raftlabs-uids" if os.path.isdir("/run/lock") else "/tmp/raftlabs-uids"
_PR_SET_PDEATHSIG = 1


@dataclasses.dataclass
class Limits:
    cpu_seconds: int
    memory_bytes: int  # address space (RLIMIT_AS)
    output_bytes: int  # the log file (RLIMIT_FSIZE)
    processes: int  # tasks (threads count) per run, where enforceable
    stack_bytes: int = 2 << 20  # thread stacks: keeps the threads runtime's address space small
    open_files: int = 1024


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_claimed = None  # (base uid, open lock file) of this process


def _claim_uid_block():
    """A block of uids no other grader on this machine uses, or None."""
    global _claimed
    if _claimed is not None:
        return _claimed[0]
    try:
        os.makedirs(_UID_LOCK_DIR, mode=0o700, exist_ok=True)
    except OSError:
        return None
    for k in range(_UID_BLOCKS):
        path = os.path.join(_UID_LOCK_DIR, f"{k}.lock")
        try:
            f = open(path, "a")
        except OSError:
            return None
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            continue
        base = _UID_BASE + k * _UID_BLOCK
        _claimed = (base, f)
        return base
    return None


class Sandbox:
    def __init__(self, bwrap: str | None, bwrap_problem: str | None, as_root: bool,
                 uid_base: int | None = None):
        self.bwrap = bwrap
        self.bwrap_problem = bwrap_problem
        self.uid_base = uid_base if as_root else None
        self.as_root = self.uid_base is not None
        self._libc = _libc()

    @classmethod
    def detect(cls, use_bwrap: bool = True) -> "Sandbox":
        uid_base = _claim_uid_block() if os.geteuid() == 0 else None
        as_root = uid_base is not None
        if as_root:
            # A previous grader that died may have left runs behind.
            for uid in _uids_with_processes(range(uid_base, uid_base + _UID_BLOCK)):
                _kill_uid(uid)
        if not use_bwrap:
            return cls(None, "turned off with --no-bwrap", as_root, uid_base)
        path = shutil.which("bwrap")
        if path is None:
            return cls(None, "bubblewrap is not installed (Debian package `bubblewrap`)", as_root,
                       uid_base)
        # User namespaces may be off (sysctl) or forbidden (a container's
        # seccomp filter): try it for real, as the uid runs will use.
        probe = [path, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                 "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                 "--", "/bin/true"]
        kwargs = {}
        if as_root:
            kwargs = dict(user=uid_base, group=uid_base, extra_groups=[])
        try:
            r = subprocess.run(probe, capture_output=True, text=True, timeout=20, **kwargs)
        except (OSError, subprocess.SubprocessError) as e:
            return cls(None, f"bubblewrap does not start here ({e})", as_root, uid_base)
        if r.returncode != 0:
            why = (r.stderr.strip().splitlines() or ["no message"])[-1]
            return cls(None, f"bubblewrap does not work here: {why}", as_root, uid_base)
        return cls(path, None, as_root, uid_base)

    def describe(self) -> str:
        parts = []
        if self.bwrap:
            parts.append("bubblewrap: no network, read-only file system, private /tmp, "
                         "own PID namespace, no capabilities")
        else:
            parts.append(f"no bubblewrap ({self.bwrap_problem}): runs can reach the network "
                         "and write outside their directory")
        if self.as_root:
            parts.append("a uid of its own per job slot")
        parts.append("process group, CPU/memory/process/output limits, own temp dir")
        return "; ".join(parts)

    def slot_uid(self, slot: int) -> int | None:
        if self.uid_base is None:
            return None
        if slot >= _UID_BLOCK:
            raise ValueError(f"at most {_UID_BLOCK} job slots")
        return self.uid_base + slot

    def prepare_dir(self, path: str, slot: int) -> None:
        """Makes `path` writable by the run in `slot` (and only by it and us)."""
        uid = self.slot_uid(slot)
        if uid is not None:
            os.chown(path, uid, uid)
        os.chmod(path, 0o700)

    def start(self, argv, env, run_dir, log_path, limits: Limits, slot: int,
              readable=()) -> subprocess.Popen:
        """Starts argv in run_dir with stdout and stderr to log_path."""
        uid = self.slot_uid(slot)
        if self.bwrap:
            cmd = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session",
                   "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                   "--tmpfs", "/tmp"]
            for path in readable:
                cmd += ["--ro-bind", path, path]
            cmd += ["--bind", run_dir, run_dir, "--chdir", run_dir, "--cap-drop", "ALL", "--"]
            argv = cmd + list(argv)
        nproc = limits.processes
        if uid is None:
            # Shared with every other process of this user: leave them room.
            nproc += _count_tasks(os.getuid())
        libc = self._libc

        def in_child():
            # Runs between fork and exec: only system calls, no locks.
            if libc is not None:
                libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
            resource.setrlimit(resource.RLIMIT_STACK, (limits.stack_bytes, limits.stack_bytes))
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

        log = open(log_path, "wb")
        try:
            kwargs = dict(cwd=run_dir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                          stderr=subprocess.STDOUT, start_new_session=True,
                          preexec_fn=in_child, close_fds=True)
            if uid is not None:
                kwargs.update(user=uid, group=uid, extra_groups=[])
            return subprocess.Popen(argv, **kwargs)
        finally:
            log.close()

    def returncode(self, proc: subprocess.Popen):
        """The run's exit status as subprocess reports it (-N for signal N).

        bubblewrap reports a child killed by signal N as exit status 128+N."""
        rc = proc.returncode
        if self.bwrap and rc is not None and 128 < rc < 128 + 65:
            return -(rc - 128)
        return rc

    def kill(self, proc: subprocess.Popen, slot: int) -> None:
        """Kills the run's process group and, with a slot uid, every process of it."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        uid = self.slot_uid(slot)
        if uid is not None:
            _kill_uid(uid)

    def cleanup(self, proc: subprocess.Popen, slot: int) -> None:
        """After the run's main process ended: nothing it started survives."""
        self.kill(proc, slot)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _kill_uid(uid: int) -> None:
    # kill(-1) from a process of that uid reaches every process of that uid
    # (and nothing else). A fork bomb cannot outrun it: a killed process
    # forks no more. Twice, for processes that were mid-fork.
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            os._exit(0)
        os.waitpid(pid, 0)


def _uids_with_processes(uids) -> set:
    """Which of `uids` own a process now."""
    wanted = set(uids)
    found = set()
    try:
        pids = os.listdir("/proc")
    except OSError:
        return found
    for pid in pids:
        if pid.isdigit():
            try:
                uid = os.stat(f"/proc/{pid}").st_uid
            except OSError:
                continue
            if uid in wanted:
                found.add(uid)
    return found


def _count_tasks(uid: int) -> int:
    """Threads and processes of `uid` now (what RLIMIT_NPROC counts)."""
    n = 0
    try:
        pids = os.listdir("/proc")
    except OSError:
        return 4096
    for pid in pids:
        if not pid.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{pid}")
            if st.st_uid == uid:
                n += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return n
