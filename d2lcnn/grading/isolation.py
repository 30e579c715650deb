"""Locking a sandboxed child down before student code runs: limits, namespaces, uid, scratch.

The child (see child.py) calls :func:`lock_down` once, after it has read its
job and before it loads the submission. As root it gets an unprivileged uid
per worker slot, a network namespace and a private mount namespace that hides
the grader's folders; as any user it gets resource limits, its own session
(so the worker can kill its process group), a scratch working folder and an
empty environment.
"""

import ctypes
import os
import resource
import signal
import sys

import torch

from .protocol import Limits

SANDBOX_UID_BASE = int(os.environ.get("D2LCNN_SANDBOX_UID", "64000"))  # + worker slot, when root
SANDBOX_GID = 65534  # nogroup
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
MS_BIND, MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV = 4096, 16384, 1 << 18, 2, 4
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def sandbox_uid(slot: int) -> int:
    """The unprivileged uid that worker ``slot``'s children run under (when the grader is root)."""
    return SANDBOX_UID_BASE + slot


def _traversable(path: str, uid: int, gid: int) -> str | None:
    """The first folder on the way to ``path`` that ``uid`` cannot enter; None if it can reach it."""
    parts = os.path.abspath(path).split(os.sep)
    for i in range(2, len(parts) + 1):
        st = os.stat(os.sep.join(parts[:i]) or os.sep)
        bit = 0o100 if st.st_uid == uid else 0o010 if st.st_gid == gid else 0o001
        if not st.st_mode & bit:
            return os.sep.join(parts[:i])
    return None


def expose_interpreter(libc: ctypes.CDLL, uid: int, gid: int) -> None:
    """Make Python's own files reachable for ``uid`` inside a private mount namespace.

    When the interpreter lives under a private folder (pyenv in /root, say),
    an unprivileged process could not import anything not loaded yet. A
    tmpfs over that folder with the installation bind-mounted back fixes it
    and hides the rest of the folder.
    """
    needed = sorted(
        {
            os.path.realpath(p)
            for p in (sys.base_prefix, sys.prefix, *sys.path)
            if p and os.path.isdir(p)
        }
    )
    blocked: dict[str, list[str]] = {}
    for path in needed:
        top = _traversable(path, uid, gid)
        if top and not any(path.startswith(b + os.sep) for b in blocked.get(top, [])):
            blocked.setdefault(top, []).append(path)
    if not blocked:
        return
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    for top, paths in blocked.items():
        fds = [os.open(p, os.O_PATH | os.O_DIRECTORY) for p in paths]
        if (
            libc.mount(b"tmpfs", top.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=755,size=64k")
            != 0
        ):
            raise OSError(ctypes.get_errno(), f"mount tmpfs on {top}")
        for path, fd in zip(paths, fds):
            os.makedirs(path, mode=0o755, exist_ok=True)
            if (
                libc.mount(
                    f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None
                )
                != 0
            ):
                raise OSError(ctypes.get_errno(), f"bind {path}")
            os.close(fd)


def hide(libc: ctypes.CDLL, paths: tuple[str, ...], keep: list[str]) -> None:
    """Cover each folder in ``paths`` with an empty, unreadable tmpfs (not those holding ``keep``)."""
    for path in paths:
        path = os.path.realpath(path)
        if not os.path.isdir(path) or any(k == path or k.startswith(path + os.sep) for k in keep):
            continue
        libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=000,size=4k")


def check_interpreter_reachable(slot: int) -> str | None:
    """A warning if sandboxed code, as root's unprivileged stand-in, could not import
    modules that are not loaded yet; None when all is well. Forks a probe."""
    if os.getuid() != 0:
        return None
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            libc = _libc()
            if libc.unshare(CLONE_NEWNS) == 0:
                expose_interpreter(libc, sandbox_uid(slot), SANDBOX_GID)
            os.setgid(SANDBOX_GID)
            os.setuid(sandbox_uid(slot))
            code = 0 if os.access(os.path.dirname(os.__file__), os.R_OK | os.X_OK) else 1
        finally:
            os._exit(code)
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0:
        return None
    return (
        f"d2lcnn grade: warning: Python's files ({os.path.dirname(os.__file__)}) are not readable "
        "by the sandbox's unprivileged user and no mount namespace is allowed here, so a submission "
        "that imports a module not loaded yet will fail. Install Python in a world-readable place, "
        "or allow CAP_SYS_ADMIN."
    )


def prepare_scratch(scratch: str, slot: int) -> None:
    """Give the child's scratch folder to the sandbox uid (when root), before the fork."""
    if os.getuid() == 0:
        os.chown(scratch, sandbox_uid(slot), SANDBOX_GID)


def _set_limits(limits: Limits) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
    with open("/proc/self/status") as f:  # what torch already maps, plus the budget
        mapped = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    memory = mapped + limits.extra_as_bytes
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.fsize_bytes, limits.fsize_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.nproc, limits.nproc))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large file is an OSError, not a kill


def _drop_root(libc: ctypes.CDLL, slot: int, scratch: str, hidden: tuple[str, ...]) -> None:
    """As root: no network, the grader's folders hidden (where allowed), an unprivileged uid."""
    flags = CLONE_NEWNET | CLONE_NEWNS
    if libc.unshare(flags) != 0 and libc.unshare(CLONE_NEWNET) != 0:
        pass  # not permitted here (a container without CAP_SYS_ADMIN): best effort
    else:
        try:
            expose_interpreter(libc, sandbox_uid(slot), SANDBOX_GID)
            package = os.path.dirname(os.path.dirname(__file__))  # d2lcnn/
            keep = [
                os.path.realpath(p)
                for p in (scratch, sys.base_prefix, sys.prefix, *sys.path, package)
                if p
            ]
            hide(libc, hidden, keep)
        except OSError:
            pass  # pre-imported modules still work; later imports may not
    os.setgroups([])
    os.setgid(SANDBOX_GID)
    os.setuid(sandbox_uid(slot))  # from here on RLIMIT_NPROC applies


def _clean_environment(scratch: str) -> None:
    os.chdir(scratch)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    os.environ.clear()  # the grader's environment may hold tokens
    os.environ.update(
        PATH=path,
        HOME=scratch,
        TMPDIR=scratch,
        LANG="C.UTF-8",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )


def lock_down(slot: int, scratch: str, limits: Limits, hidden: tuple[str, ...] = ()) -> None:
    """Limits, no network, unprivileged uid, scratch folder. Must run before student code.

    Args:
        slot: the worker's slot (picks the sandbox uid when root).
        scratch: the child's working folder.
        limits: its resource limits.
        hidden: folders the student's code must not see (the results folder,
            the submissions); covered when a private mount namespace is available.
    """
    libc = _libc()
    os.setsid()  # own process group: the worker kills it whole
    _set_limits(limits)
    if os.getuid() == 0:
        _drop_root(libc, slot, scratch, hidden)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _clean_environment(scratch)
    torch.set_num_threads(1)
