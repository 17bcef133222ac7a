# grader/uids.py
#
# The per-slot uids a grader running as root gives its runs: a block of uids
# far above any real user, claimed with a lock file the kernel releases when
# the grader exits (several graders may run at once, and each kills every
# process of its uids). Also: killing every process of a uid, and checking
# that those uids can reach a folder.
#
#   base, problem = claim_block()       # (uid, "") or (None, why not)
#   kill_uid(base + slot)
#   blocker = untraversable_ancestor(work_dir)   # None if any uid can reach it

from __future__ import annotations

import fcntl
import os
import signal
import stat

UID_BASE = 2_900_000
UID_BLOCK = 1000
_UID_BLOCKS = 1000
# RAFTLABS_UID_LOCK_DIR moves it (for the grader's own tests).
LOCK_DIR = os.environ.get("RAFTLABS_UID_LOCK_DIR") or (
    "/run/lock/raftlabs-uids" if os.path.isdir("/run/lock") else "/tmp/raftlabs-uids")

_claimed = None  # (base uid, open lock file descriptor) of this process


def lock_dir_problem(path: str) -> str:
    """Why the lock folder cannot be trusted, or "" (it must be root's, and
    writable by root only: /run/lock is world-writable, so another user
    could create it first and hold every block, or swap lock files)."""
    try:
        st = os.lstat(path)
    except OSError as e:
        return f"cannot inspect the uid lock folder {path} ({e.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return f"the uid lock folder {path} is not a folder (remove it; the grader makes it)"
    if st.st_uid != 0:
        return (f"the uid lock folder {path} belongs to uid {st.st_uid}, not root: another user "
                f"made it (remove it; the grader makes it)")
    if st.st_mode & 0o022:
        return (f"the uid lock folder {path} is writable by others (mode "
                f"{stat.S_IMODE(st.st_mode):o}): run `chmod 700 {path}`")
    return ""


def claim_block(lock_dir: str = LOCK_DIR):
    """(first uid of a block no other grader on this machine uses, "") or (None, why not)."""
    global _claimed
    if _claimed is not None:
        return _claimed[0], ""
    try:
        os.mkdir(lock_dir, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        return None, f"cannot create the uid lock folder {lock_dir} ({e.strerror})"
    problem = lock_dir_problem(lock_dir)
    if problem:
        return None, problem
    for k in range(_UID_BLOCKS):
        path = os.path.join(lock_dir, f"{k}.lock")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as e:
            return None, f"cannot open {path} ({e.strerror})"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        base = UID_BASE + k * UID_BLOCK
        _claimed = (base, fd)
        return base, ""
    return None, f"all {_UID_BLOCKS} uid blocks in {lock_dir} are held by other graders"


def kill_uid(uid: int) -> None:
    """SIGKILLs every process of `uid`, wherever it went.

    kill(-1) from a process of that uid reaches every process of that uid
    (and nothing else). A fork bomb cannot outrun it: a killed process forks
    no more. Twice, for processes that were mid-fork."""
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


def uids_with_processes(uids) -> set:
    """Which of `uids` own a process now."""
    wanted = set(uids)
    found = set()
    for pid in _pids():
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if uid in wanted:
            found.add(uid)
    return found


def count_tasks(uid: int) -> int:
    """Threads and processes of `uid` now (what RLIMIT_NPROC counts)."""
    n = 0
    for pid in _pids():
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                n += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return n


def _pids():
    try:
        return [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []


def untraversable_ancestor(path) -> str | None:
    """The first folder on the way to `path` that a uid other than its
    owner's (and not in its group) cannot enter, or None if there is none."""
    path = os.path.abspath(path)
    parts = path.split(os.sep)
    for i in range(1, len(parts) + 1):
        d = os.sep.join(parts[:i]) or os.sep
        try:
            st = os.stat(d)
        except OSError:
            return d
        if not st.st_mode & stat.S_IXOTH:
            return d
    return None
