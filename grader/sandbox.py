# grader/sandbox.py
#
# Starts one test process, isolated, and cleans up after it. Every run gets
# (what applies on this machine is in describe(); README "Isolation"):
#
#   - its own process group and session, killed as a whole when the run ends,
#     and reaped: the grader is a child subreaper, so no bubblewrap process
#     it started stays a zombie;
#   - a cgroup of its own where the machine allows (grader/cgroups.py):
#     memory and processes limited for the whole run, its CPU time counted,
#     and the lowest CPU weight; plus nice 19 and rlimits: CPU seconds,
#     address space, stack, core dumps off, open files, RLIMIT_NPROC, and a
#     file size cap (the log is a file, so a flood stops with SIGXFSZ);
#   - its own folder (cwd, HOME and TMPDIR): as root, a tmpfs of a fixed
#     size mounted by the grader; otherwise a folder whose size the runner
#     watches (check_disk);
#   - as root: a uid of its own (one per job slot, grader/uids.py), so every
#     leftover process of that uid is killed at the end, wherever it went.
#     Without such uids a root grader refuses to grade unless told to
#     (allow_root), and then says so in describe() and missing();
#   - where bubblewrap works: a file system view built from an allowlist
#     (/usr and its links, the dynamic loader's files in /etc, /dev, /proc,
#     the staged binaries read-only, the run's own folder, a size-limited
#     /tmp), so no instructor tree, other runs, caches, /root, /home or host
#     sockets; no network (a new network namespace also hides abstract Unix
#     sockets); new PID/IPC/UTS/cgroup namespaces; no capabilities.
#
#   box = Sandbox.detect()
#   box.prepare_run_dir(run_dir, slot, limits)
#   proc = box.start(argv, env, run_dir, log_file, limits, slot, readable=[...])
#   ... box.poll(proc) ...; usage = box.cleanup(proc, slot); box.release_run_dir(run_dir)
#
# The caller (grader/runner.py) enforces the wall-clock limit by polling and
# calling kill(); this module never blocks for long.

from __future__ import annotations

import ctypes
import dataclasses
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time

from grader import cgroups as cgroups_lib
from grader import uids as uids_lib

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_MNT_DETACH = 2
_RUN_NICE = 19
_MAX_FILES = 10_000  # files in a run's folder (tmpfs inodes, or what check_disk counts)


@dataclasses.dataclass
class Limits:
    cpu_seconds: int
    memory_bytes: int  # the whole run with cgroups; each process's address space (RLIMIT_AS)
    output_bytes: int  # the log, and any one file (RLIMIT_FSIZE)
    processes: int  # processes and threads: the whole run with cgroups, else per uid
    disk_bytes: int = 256 << 20  # the run's folder and its /tmp
    stack_bytes: int = 2 << 20  # thread stacks: keeps the threads runtime's address space small
    open_files: int = 1024
    # No RLIMIT_AS (memory_bytes still limits the cgroup): ThreadSanitizer
    # reserves terabytes of address space up front (grader/race.py).
    unlimited_address_space: bool = False


@dataclasses.dataclass
class Usage:
    """What a finished run used, and which of its limits it hit."""
    cpu_seconds: float | None = None  # the whole run, children included
    memory_exceeded: bool = False
    processes_exceeded: bool = False
    disk_exceeded: bool = False
    memory_peak_bytes: int | None = None


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


class Sandbox:
    def __init__(self, bwrap: str | None, bwrap_problem: str | None, as_root: bool,
                 uid_base: int | None = None, cgroups=None, root_problem: str = "",
                 can_mount: bool = False, sized_tmpfs: bool = False):
        self.bwrap = bwrap
        self.bwrap_problem = bwrap_problem
        self.uid_base = uid_base if as_root else None
        self.as_root = self.uid_base is not None
        # Running as root without slot uids: runs would be root (see missing()).
        self.runs_as_root = os.geteuid() == 0 and self.uid_base is None
        self.root_problem = root_problem
        self.cgroups = cgroups or cgroups_lib.CgroupManager(None, {}, "not looked for")
        self.can_mount = can_mount
        self.sized_tmpfs = sized_tmpfs
        self._libc = _libc()
        self._mounted = set()
        self._started = set()  # pids of the runs' main processes, until reaped
        self._exited = {}  # pid -> (wait status, rusage) of those, reaped before asked for
        self._groups = {}  # pid -> its run's cgroup
        self._rusage = {}
        self._subreaper = False

    @classmethod
    def detect(cls, use_bwrap: bool = True, use_cgroups: bool = True) -> "Sandbox":
        uid_base, root_problem = None, ""
        if os.geteuid() == 0:
            uid_base, root_problem = uids_lib.claim_block()
        as_root = uid_base is not None
        if as_root:
            # A previous grader that died may have left runs behind.
            for uid in uids_lib.uids_with_processes(range(uid_base, uid_base + uids_lib.UID_BLOCK)):
                uids_lib.kill_uid(uid)
        groups = (cgroups_lib.CgroupManager.detect() if use_cgroups
                  else cgroups_lib.CgroupManager(None, {}, "turned off"))
        can_mount = os.geteuid() == 0 and _can_mount_tmpfs()
        common = dict(uid_base=uid_base, cgroups=groups, root_problem=root_problem,
                      can_mount=can_mount)
        if not use_bwrap:
            return cls(None, "turned off with --no-bwrap", as_root, **common)
        path = shutil.which("bwrap")
        if path is None:
            return cls(None, "bubblewrap is not installed (Debian package `bubblewrap`)", as_root,
                       **common)
        # User namespaces may be off (sysctl) or forbidden (a container's
        # seccomp filter): try it for real, as the runs will use it.
        # `--size` (a tmpfs's size) needs bubblewrap 0.6 or later.
        why = ""
        for sized in (True, False):
            probe = [path] + _view_args([], None, 1 << 20 if sized else None) + ["--", "/bin/true"]
            kwargs = {}
            if as_root:
                kwargs = dict(user=uid_base, group=uid_base, extra_groups=[])
            try:
                r = subprocess.run(probe, capture_output=True, text=True, timeout=20, **kwargs)
            except (OSError, subprocess.SubprocessError) as e:
                return cls(None, f"bubblewrap does not start here ({e})", as_root, **common)
            if r.returncode == 0:
                return cls(path, None, as_root, sized_tmpfs=sized, **common)
            why = why or (r.stderr.strip().splitlines() or ["no message"])[-1]
        return cls(None, f"bubblewrap does not work here: {why}", as_root, **common)

    def missing(self) -> list:
        """The isolation this machine does not give, one phrase each (for the results)."""
        out = []
        if self.runs_as_root:
            out.append(f"runs execute as ROOT ({self.root_problem or 'no per-slot uids'})")
        if not self.bwrap:
            out.append(f"no bubblewrap ({self.bwrap_problem}): runs see the whole file system "
                       "and the network")
        if self.cgroups.version is None:
            out.append(f"{self.cgroups.describe()}: memory is limited per process only, "
                       "processes per uid, CPU not weighted below the grader")
        if not self.can_mount:
            out.append("no tmpfs per run: the run's folder is on disk, its size checked by polling")
        return out

    def describe(self) -> str:
        parts = []
        if self.runs_as_root:
            parts.append(f"WARNING: RUNS EXECUTE AS ROOT ({self.root_problem})")
        if self.bwrap:
            parts.append("bubblewrap: allowlisted read-only view (/usr, loader files, staged "
                         "binaries), no network or host sockets, own PID namespace, no "
                         "capabilities")
        else:
            parts.append(f"no bubblewrap ({self.bwrap_problem}): runs can reach the network "
                         "and see the whole file system")
        if self.as_root:
            parts.append("a uid of its own per job slot")
        parts.append(self.cgroups.describe())
        parts.append("own folder " + ("(a size-limited tmpfs)" if self.can_mount
                                      else "(size checked by polling)"))
        parts.append("nice 19, process group, CPU/memory/process/file-size rlimits")
        return "; ".join(parts)

    def slot_uid(self, slot: int) -> int | None:
        if self.uid_base is None:
            return None
        if slot >= uids_lib.UID_BLOCK:
            raise ValueError(f"at most {uids_lib.UID_BLOCK} job slots")
        return self.uid_base + slot

    # --- A run's folder -----------------------------------------------------

    def prepare_run_dir(self, path: str, slot: int, limits: Limits) -> None:
        """Creates the run's folder (as root: a tmpfs of limits.disk_bytes)
        with a tmp/ inside, writable by the run in `slot` only (and us)."""
        os.makedirs(path)
        uid = self.slot_uid(slot)
        if self.can_mount:
            owner = f",uid={uid},gid={uid}" if uid is not None else ""
            _mount_tmpfs(path, f"size={limits.disk_bytes},nr_inodes={_MAX_FILES},mode=0700{owner}")
            self._mounted.add(path)
        os.makedirs(os.path.join(path, "tmp"))
        for d in (path, os.path.join(path, "tmp")):
            if uid is not None:
                os.chown(d, uid, uid)
            os.chmod(d, 0o700)

    def release_run_dir(self, path: str) -> None:
        if path in self._mounted:
            self._mounted.discard(path)
            _umount(path)
        shutil.rmtree(path, ignore_errors=True)

    def disk_full(self, path: str) -> bool:
        """Whether the run's tmpfs is full (of bytes or of files)."""
        if path not in self._mounted:
            return False
        try:
            st = os.statvfs(path)
        except OSError:
            return False
        return st.f_bavail * st.f_frsize < (64 << 10) or st.f_favail < 2

    def check_disk(self, path: str, limits: Limits) -> bool:
        """Without a tmpfs: whether the run's folder holds more than its
        limit (bytes or files). The runner polls it and kills the run."""
        if path in self._mounted:
            return False
        total = files = 0
        for root, dirs, names in os.walk(path):
            files += len(dirs) + len(names)
            for n in names:
                try:
                    total += os.lstat(os.path.join(root, n)).st_blocks * 512
                except OSError:
                    pass
            if files > _MAX_FILES or total > limits.disk_bytes:
                return True
        return False

    # --- A run's process ----------------------------------------------------

    def start(self, argv, env, run_dir, log_path, limits: Limits, slot: int,
              readable=()) -> subprocess.Popen:
        """Starts argv in run_dir with stdout and stderr to log_path."""
        uid = self.slot_uid(slot)
        if self.bwrap:
            tmp = limits.disk_bytes if self.sized_tmpfs else None
            argv = [self.bwrap] + _view_args(list(readable), run_dir, tmp) + ["--"] + list(argv)
        group = self.cgroups.new_group(limits.memory_bytes, limits.processes)
        nproc = limits.processes
        if group is not None:
            nproc *= 2  # a backstop only: the cgroup's limit is the one that bites (and is seen)
        if uid is None:
            # Shared with every other process of this user: leave them room.
            nproc += uids_lib.count_tasks(os.getuid())
        libc = self._libc
        if not self._subreaper and libc is not None:
            # Orphans of the runs (bubblewrap's inner process when the outer
            # one is killed) become our children, and poll() reaps them.
            libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
            self._subreaper = True

        def in_child():
            # Runs between fork and exec: only system calls, no locks.
            if libc is not None:
                libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if group is not None:
                group.join()  # before anything else can fork
            os.nice(_RUN_NICE)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
            address_space = (resource.RLIM_INFINITY if limits.unlimited_address_space
                             else limits.memory_bytes)
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
            resource.setrlimit(resource.RLIMIT_STACK, (limits.stack_bytes, limits.stack_bytes))
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
            if uid is not None:
                # Last: joining the cgroup and lowering limits needed root.
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)

        log = open(log_path, "wb")
        try:
            proc = subprocess.Popen(argv, cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=in_child, close_fds=True)
        except BaseException:
            if group is not None:
                group.remove()
            raise
        finally:
            log.close()
        if group is not None:
            self._groups[proc.pid] = group
        self._started.add(proc.pid)
        return proc

    def _reap(self) -> None:
        """Collects every child that ended: runs, and orphans handed to us."""
        while True:
            try:
                pid, status, rusage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self._started:  # not an orphan: its pid may be reused later
                self._started.discard(pid)
                self._exited[pid] = (status, rusage)

    def poll(self, proc: subprocess.Popen):
        """proc's exit status (as Popen.poll) without blocking; reaps orphans too."""
        if proc.returncode is None:
            self._reap()
            if proc.pid in self._exited:
                status, rusage = self._exited.pop(proc.pid)
                proc.returncode = os.waitstatus_to_exitcode(status)
                self._rusage[proc.pid] = rusage
        return proc.returncode

    def wait(self, proc: subprocess.Popen, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while self.poll(proc) is None and time.monotonic() < deadline:
            time.sleep(0.005)
        return proc.returncode

    def returncode(self, proc: subprocess.Popen):
        """The run's exit status as subprocess reports it (-N for signal N).

        bubblewrap reports a child killed by signal N as exit status 128+N."""
        rc = proc.returncode
        if self.bwrap and rc is not None and 128 < rc < 128 + 65:
            return -(rc - 128)
        return rc

    def signal_kill(self, proc: subprocess.Popen, slot: int) -> None:
        """Sends SIGKILL to every process of the run, once, without waiting
        (so that several runs at their limit all die at once); cleanup()
        makes sure afterwards."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        group = self._groups.get(proc.pid)
        if group is not None:
            group.signal_kill()
        uid = self.slot_uid(slot)
        if uid is not None:
            uids_lib.kill_uid(uid)

    def kill(self, proc: subprocess.Popen, slot: int) -> None:
        """Kills the run's process group, its cgroup and, with a slot uid,
        every process of it, until the last one is gone and reaped (orphans
        are ours to reap); at most a few seconds."""
        self.signal_kill(proc, slot)
        group = self._groups.get(proc.pid)
        if group is not None:
            group.kill(self._reap)
        uid = self.slot_uid(slot)
        deadline = time.monotonic() + 2
        while uid is not None and uids_lib.uids_with_processes([uid]) \
                and time.monotonic() < deadline:
            self._reap()
            uids_lib.kill_uid(uid)
            time.sleep(0.005)

    def cleanup(self, proc: subprocess.Popen, slot: int) -> Usage:
        """After the run's main process ended: nothing it started survives;
        returns what it used."""
        self.kill(proc, slot)
        self.wait(proc, timeout=5)
        self._reap()
        usage = Usage()
        group = self._groups.pop(proc.pid, None)
        if group is not None:
            g = group.usage()
            group.remove(self._reap)
            usage = Usage(g.cpu_seconds, g.memory_exceeded, g.tasks_exceeded, False,
                          g.memory_peak_bytes)
        rusage = self._rusage.pop(proc.pid, None)
        if usage.cpu_seconds is None and rusage is not None and not self.bwrap:
            # Without cpuacct: the run's own CPU and its reaped descendants'.
            # Not under bubblewrap, whose outer process exits without reaping
            # the sandbox's PID 1 (so the figure would be near 0): unknown.
            usage.cpu_seconds = rusage.ru_utime + rusage.ru_stime
        return usage

    def close(self) -> None:
        """At the end of a grade: unmounts what is left, deletes the cgroups."""
        for path in list(self._mounted):
            self.release_run_dir(path)
        for group in self._groups.values():
            group.remove()
        self._groups.clear()
        self.cgroups.close()
        self._reap()


def _view_args(readable, run_dir, tmp_bytes) -> list:
    """bubblewrap's options: the namespaces and a file system built from an allowlist."""
    args = ["--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    # The programs and libraries: /usr, and the top-level links into it
    # (merged /usr) or the folders themselves (older systems).
    args += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    # What the dynamic loader and the C library read in /etc.
    for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        args += ["--ro-bind-try", f, f]
    args += ["--dev", "/dev", "--proc", "/proc"]
    for d in ("/tmp", "/dev/shm"):
        if tmp_bytes is not None:
            args += ["--size", str(tmp_bytes)]
        args += ["--tmpfs", d]
    for path in readable:
        args += ["--ro-bind", path, path]
    if run_dir is not None:
        args += ["--bind", run_dir, run_dir, "--chdir", run_dir]
    return args


def _mount_tmpfs(path: str, options: str) -> None:
    libc = _libc()
    if libc is None or libc.mount(b"tmpfs", path.encode(), b"tmpfs", 0, options.encode()) != 0:
        err = ctypes.get_errno() if libc is not None else 0
        raise OSError(err, f"cannot mount a tmpfs on {path}: {os.strerror(err)}")


def _umount(path: str) -> None:
    libc = _libc()
    if libc is not None:
        libc.umount2(path.encode(), _MNT_DETACH)


def _can_mount_tmpfs() -> bool:
    d = tempfile.mkdtemp(prefix="raftlabs-mount-probe-")
    try:
        _mount_tmpfs(d, "size=1m")
    except OSError:
        os.rmdir(d)
        return False
    _umount(d)
    os.rmdir(d)
    return True
