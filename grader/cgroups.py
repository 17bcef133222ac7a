# grader/cgroups.py
#
# Control groups for the runs: each run gets a cgroup of its own, so that its
# memory and its number of processes and threads are limited for the whole
# run (all its processes together, not each one), its CPU time is counted
# (children included), it weighs as one entity in the CPU scheduler however
# many processes it has (a fork bomb cannot starve the grader's loop), and
# every process in it can be found and killed.
#
#   groups = CgroupManager.detect()          # v2 where usable, else v1, else none
#   g = groups.new_group(memory_bytes=..., tasks=...)   # None without cgroups
#   ... in the child, before exec: g.join() ...
#   g.usage()  -> GroupUsage(cpu_seconds, memory_exceeded, tasks_exceeded)
#   g.kill(); g.remove()
#
# cgroup v2 is used when the unified hierarchy offers the memory and pids
# controllers to the grader's own cgroup; otherwise cgroup v1 with its memory,
# pids, cpu and cpuacct hierarchies (a "hybrid" machine); otherwise nothing,
# and describe() says why (grader/sandbox.py then falls back to rlimits).
# Groups are created under the grader's own cgroup (so a container's limits
# still hold), named raftlabs-<grader pid>/run-<n>.

from __future__ import annotations

import atexit
import dataclasses
import itertools
import os
import signal
import time

# CPU weight of the runs of a grade together: as many ordinary processes
# (1024 shares, weight 100) as there are job slots; each run is a group of
# its own under that, with equal weights. So a fork bomb's thousand
# processes weigh as one run, the grader's loop always gets at least
# 1/(slots + 1) of the CPU, and the runs are not slowed against the rest of
# the machine (a lower weight also slows the killing of a fork bomb: dying
# processes need CPU to exit).
_SLOT_V1_SHARES = 1024
_SLOT_V2_WEIGHT = 100


@dataclasses.dataclass
class GroupUsage:
    cpu_seconds: float | None
    memory_exceeded: bool
    tasks_exceeded: bool
    memory_peak_bytes: int | None = None


def _read(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as f:
        return f.read()


def _write(path: str, value) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(str(value))


def _keyed(text: str) -> dict:
    """ "key value" lines (memory.events, pids.events, cpu.stat ...) as a dict of ints."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def _own_cgroups(text: str) -> dict:
    """/proc/self/cgroup as {controller or "" for v2: path}."""
    out = {}
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(","):
            out[c] = path
    return out


def _mounts() -> list:
    """(mount point, fs type, options) of every mount."""
    out = []
    try:
        text = _read("/proc/self/mounts")
    except OSError:
        return out
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            out.append((fields[1], fields[2], fields[3].split(",")))
    return out


class _Group:
    """One run's cgroup: a directory per hierarchy (one for v2, several for v1)."""

    def __init__(self, version: int, dirs: dict):
        self.version = version
        self.dirs = dirs  # role ("memory", "pids", "cpu", "cpuacct", or "v2") -> directory
        # Opened now, by the grader, so that the child can join after it
        # dropped its privileges (the kernel checks the opener's credentials).
        self._procs_fds = [os.open(os.path.join(d, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
                           for d in dict.fromkeys(dirs.values())]

    def join(self) -> None:
        """Moves the calling process into the group; for the child between fork and exec."""
        pid = str(os.getpid()).encode()
        for fd in self._procs_fds:
            os.write(fd, pid)

    def _close_fds(self) -> None:
        for fd in self._procs_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._procs_fds = []

    def pids(self) -> set:
        out = set()
        for d in set(self.dirs.values()):
            try:
                out.update(int(p) for p in _read(os.path.join(d, "cgroup.procs")).split())
            except OSError:
                pass
        return out

    def usage(self) -> GroupUsage:
        cpu = mem_hit = tasks_hit = None
        peak = None
        try:
            if self.version == 2:
                d = self.dirs["v2"]
                stat = _keyed(_read(os.path.join(d, "cpu.stat")))
                if "usage_usec" in stat:
                    cpu = stat["usage_usec"] / 1e6
                events = _keyed(_read(os.path.join(d, "memory.events")))
                mem_hit = events.get("oom_kill", 0) > 0 or events.get("oom", 0) > 0
                tasks_hit = _keyed(_read(os.path.join(d, "pids.events"))).get("max", 0) > 0
                try:
                    peak = int(_read(os.path.join(d, "memory.peak")))
                except (OSError, ValueError):
                    pass
            else:
                if "cpuacct" in self.dirs:
                    cpu = int(_read(os.path.join(self.dirs["cpuacct"], "cpuacct.usage"))) / 1e9
                oom = _keyed(_read(os.path.join(self.dirs["memory"], "memory.oom_control")))
                mem_hit = oom.get("oom_kill", 0) > 0 or oom.get("under_oom", 0) > 0
                tasks_hit = _keyed(_read(os.path.join(self.dirs["pids"], "pids.events"))).get(
                    "max", 0) > 0
                try:
                    peak = int(_read(os.path.join(self.dirs["memory"], "memory.max_usage_in_bytes")))
                except (OSError, ValueError):
                    pass
        except (OSError, ValueError):
            pass
        return GroupUsage(cpu, bool(mem_hit), bool(tasks_hit), peak)

    def signal_kill(self) -> None:
        """SIGKILLs every process in the group now, once (see kill())."""
        if self.version == 2:
            try:
                _write(os.path.join(self.dirs["v2"], "cgroup.kill"), 1)
                return
            except OSError:
                pass
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def kill(self, reap=None) -> None:
        """SIGKILLs every process in the group, until none is left (at most ~2 s).
        reap(), if given, collects exited children meanwhile (a zombie may
        still be listed in the group until its parent reaps it)."""
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and self.pids():
            self.signal_kill()
            if reap is not None:
                reap()
            time.sleep(0.01)

    def remove(self, reap=None) -> None:
        """Kills what is left and deletes the group's directories."""
        self._close_fds()
        self.kill(reap)
        for d in set(self.dirs.values()):
            for _ in range(100):  # the kernel may take a moment to drop exited tasks
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


class CgroupManager:
    """Creates the runs' cgroups under the grader's own; `version` is 2, 1 or None."""

    def __init__(self, version, bases: dict, problem: str = ""):
        self.version = version
        self.bases = bases  # role -> this grader's directory (raftlabs-<pid>)
        self.problem = problem
        self._counter = itertools.count()
        if bases:
            atexit.register(self.close)
        self.set_slots(1)

    def set_slots(self, slots: int) -> None:
        """Weighs all the runs together as `slots` ordinary processes."""
        if self.version == 2:
            _try_write(os.path.join(self.bases["v2"], "cpu.weight"),
                       min(10_000, _SLOT_V2_WEIGHT * slots))
        elif "cpu" in self.bases:
            _try_write(os.path.join(self.bases["cpu"], "cpu.shares"), _SLOT_V1_SHARES * slots)

    @classmethod
    def detect(cls, root: str = "/sys/fs/cgroup") -> "CgroupManager":
        try:
            own = _own_cgroups(_read("/proc/self/cgroup"))
        except OSError as e:
            return cls(None, {}, f"cannot read /proc/self/cgroup ({e.strerror})")
        mounts = _mounts()
        problems = []
        v2 = [m for m, t, _ in mounts if t == "cgroup2" and m.startswith(root)]
        if v2 and "" in own:
            made = cls._try_v2(os.path.join(v2[0], own[""].lstrip("/")))
            if isinstance(made, cls):
                return made
            problems.append(made)
        else:
            problems.append("no cgroup v2 hierarchy")
        v1 = {}
        for mount, fstype, options in mounts:
            if fstype == "cgroup" and mount.startswith(root):
                for role in ("memory", "pids", "cpu", "cpuacct"):
                    if role in options and role in own:
                        v1.setdefault(role, os.path.join(mount, own[role].lstrip("/")))
        missing = [r for r in ("memory", "pids") if r not in v1]
        if missing:
            problems.append(f"cgroup v1 lacks the {' and '.join(missing)} controller")
            return cls(None, {}, "; ".join(problems))
        made = cls._try_v1(v1)
        if isinstance(made, cls):
            made.problem = "; ".join(problems)
            return made
        problems.append(made)
        return cls(None, {}, "; ".join(problems))

    @classmethod
    def _try_v2(cls, own_dir: str):
        try:
            available = _read(os.path.join(own_dir, "cgroup.controllers")).split()
        except OSError as e:
            return f"cgroup v2: cannot read {own_dir} ({e.strerror})"
        missing = [c for c in ("memory", "pids") if c not in available]
        if missing:
            return f"cgroup v2 offers no {' or '.join(missing)} controller here"
        _remove_stale(own_dir)
        base = os.path.join(own_dir, f"raftlabs-{os.getpid()}")
        try:
            os.makedirs(base, exist_ok=True)
            wanted = [c for c in ("memory", "pids", "cpu") if c in available]
            # A cgroup that holds processes cannot hand controllers down
            # (v2's "no internal processes" rule), except the root: this
            # enables them in our base, below our own cgroup.
            _write(os.path.join(own_dir, "cgroup.subtree_control"),
                   " ".join("+" + c for c in wanted))
            _write(os.path.join(base, "cgroup.subtree_control"), " ".join("+" + c for c in wanted))
        except OSError as e:
            _rmdir_quietly(base)
            return f"cgroup v2: cannot set up {base} ({e.strerror})"
        return cls(2, {"v2": base})

    @classmethod
    def _try_v1(cls, own_dirs: dict):
        bases = {}
        try:
            for role, d in own_dirs.items():
                _remove_stale(d)
                base = os.path.join(d, f"raftlabs-{os.getpid()}")
                os.makedirs(base, exist_ok=True)
                bases[role] = base
        except OSError as e:
            for b in bases.values():
                _rmdir_quietly(b)
            return f"cgroup v1: cannot create a group in {d} ({e.strerror})"
        return cls(1, bases)

    def describe(self) -> str:
        if self.version == 2:
            return ("cgroup v2 per run (memory and processes for the whole run, CPU counted, "
                    "a run weighs as one process)")
        if self.version == 1:
            extra = ", CPU counted" if "cpuacct" in self.bases else ""
            extra += ", a run weighs as one process" if "cpu" in self.bases else ""
            return f"cgroup v1 per run (memory and processes for the whole run{extra})"
        return f"no cgroups ({self.problem})"

    def new_group(self, memory_bytes: int, tasks: int):
        """A fresh group with these limits, or None without cgroups (or if it cannot be made)."""
        if self.version is None:
            return None
        name = f"run-{next(self._counter)}"
        dirs = {role: os.path.join(base, name) for role, base in self.bases.items()}
        try:
            for d in set(dirs.values()):
                os.mkdir(d)
            if self.version == 2:
                d = dirs["v2"]
                _write(os.path.join(d, "memory.max"), memory_bytes)
                _try_write(os.path.join(d, "memory.swap.max"), 0)
                _write(os.path.join(d, "pids.max"), tasks)
            else:
                mem = dirs["memory"]
                _write(os.path.join(mem, "memory.limit_in_bytes"), memory_bytes)
                _try_write(os.path.join(mem, "memory.memsw.limit_in_bytes"), memory_bytes)
                _write(os.path.join(dirs["pids"], "pids.max"), tasks)
            return _Group(self.version, dirs)
        except OSError:
            for d in set(dirs.values()):
                _rmdir_quietly(d)
            return None

    def close(self) -> None:
        """Deletes this grader's base groups (after every run was removed)."""
        for base in set(self.bases.values()):
            _rmdir_quietly(base)


def _remove_stale(parent: str) -> None:
    """Deletes the empty groups of graders that died (their pid is gone)
    without doing so. Processes are not killed here: a dead grader's runs die
    with it (PDEATHSIG, the uid sweep), and a pid may be another namespace's."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        pid = name[len("raftlabs-"):]
        if name.startswith("raftlabs-") and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            base = os.path.join(parent, name)
            for run in os.listdir(base) if os.path.isdir(base) else ():
                if run.startswith("run-"):
                    _rmdir_quietly(os.path.join(base, run))
            _rmdir_quietly(base)


def _try_write(path, value) -> None:
    try:
        _write(path, value)
    except OSError:
        pass


def _rmdir_quietly(path) -> None:
    try:
        os.rmdir(path)
    except OSError:
        pass
