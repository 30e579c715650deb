"""Linux namespaces for the grader: each job in its own PID, IPC, mount, network and user namespace.

A grading worker calls :func:`enter_worker` once, before importing torch: it
gets a private mount namespace (inside a user namespace of its own when not
root) holding a read-only *view*, a tmpfs with only the interpreter, the
system libraries, the installed packages and the course package bind-mounted
into it. Each job is then started by :func:`start_job`: the worker forks a
*keeper*, which unshares a new user, PID, IPC, mount and network namespace and
forks the job's PID 1. That process mounts its own ``/proc`` and private,
size-limited ``/tmp``, ``/var/tmp`` and ``/dev/shm``, pivots into the view,
gives up every privilege and returns to run the job. When PID 1 dies the
kernel kills every process left in its namespace, so nothing the job started
can outlive it; its tmpfs mounts and SysV objects vanish with the last of its
processes. The job's processes are counted in its own user namespace, so
``RLIMIT_NPROC`` caps the job as a whole.

Everything here is plain syscalls through ctypes, as root or as a normal user
(unprivileged user namespaces).
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
from dataclasses import dataclass, field

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS = 0x20000000, 0x40000000, 0x04000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 16384, 1 << 18, 1 << 21, 1 << 24
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 1, 4, 38, 24
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine, 155)
NOBODY = 65534  # the uid and gid a job runs as when the grader is root
JOB_TMPFS = ("/tmp", "/var/tmp", "/dev/shm")  # private to each job, size-limited
SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
DEVICES = ("null", "zero", "full", "random", "urandom")
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")


class Unavailable(OSError):
    """The kernel refused a namespace or mount the sandbox needs."""


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
_libc.unshare.argtypes = (ctypes.c_int,)
_libc.syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise Unavailable(code, f"{what}: {os.strerror(code)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """mount(2); raises :class:`Unavailable` naming the target on failure."""

    def enc(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    _check(
        _libc.mount(enc(source), target.encode(), enc(fstype), flags, data.encode() or None),
        f"mount {fstype or source} on {target}",
    )


def _write_file(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _locked_flags(path: str) -> int:
    """The flags a read-only remount of a bind of ``path`` must keep (a user namespace may
    not clear what the original mount sets)."""
    st = os.statvfs(path)
    flags = MS_NOSUID
    for st_flag, ms_flag in (
        (os.ST_NODEV, MS_NODEV),
        (os.ST_NOEXEC, MS_NOEXEC),
        (os.ST_NOATIME, MS_NOATIME),
        (os.ST_NODIRATIME, MS_NODIRATIME),
        (os.ST_RELATIME, MS_RELATIME),
    ):
        if st.f_flag & st_flag:
            flags |= ms_flag
    return flags


def _bind(source_fd: int, source: str, target: str, read_only: bool = True) -> None:
    """Bind ``source`` (open as ``source_fd``) on ``target``, read-only unless told otherwise."""
    proc_path = f"/proc/self/fd/{source_fd}"
    try:
        mount(proc_path, target, None, MS_BIND)
    except Unavailable as e:  # a folder with mounts below it (locked in a user namespace)
        if e.errno != errno.EINVAL:
            raise
        mount(proc_path, target, None, MS_BIND | MS_REC)
    if read_only:
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags(source))


@dataclass
class View:
    """The read-only tree every job of a worker sees as ``/``."""

    root: str
    root_mode: bool  # the grader runs as root: jobs run as nobody
    uid: int = 0
    gid: int = 0
    binds: list[str] = field(default_factory=list)
    tmpfs_size: str = "64m"


def python_paths() -> list[str]:
    """Folders of the interpreter and installed packages sandboxed code may import from.

    Library folders only (the standard library, site-packages, zip files): a
    project folder on ``sys.path`` (the grader's working folder, a checkout on
    ``PYTHONPATH``) is left out, and only its ``d2lcnn`` package is shown.
    """
    import importlib.util

    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix)}
    paths = []
    for entry in sys.path:
        if not entry or not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry)
        under_prefix = any(real == p or real.startswith(p + os.sep) for p in prefixes if p != "/")
        library = os.path.basename(real) in ("site-packages", "dist-packages") or real.endswith(
            ".zip"
        )
        if os.path.exists(real) and (under_prefix or library):
            paths.append(os.path.normpath(entry))
    spec = importlib.util.find_spec("d2lcnn")
    if spec is not None and spec.submodule_search_locations:
        paths.extend(os.path.normpath(p) for p in spec.submodule_search_locations)
    return paths


def _covered(path: str, by: list[str]) -> bool:
    return any(path == b or path.startswith(b.rstrip("/") + "/") for b in by)


_pid_ns_fd = -1  # this worker's own PID namespace, to return to after forking a job
VIEW: View | None = None  # the jobs' view, once the worker has built it


def enter_worker(staging: str | None = None) -> None:
    """Move this worker into a private mount namespace and a PID namespace of its own (as a
    normal user, into a user namespace first, keeping its uid and gid).

    Call it while the process is single-threaded (before importing torch). The
    calling process stays outside, waits for the worker and exits as it did;
    the worker continues as PID 1 of the new namespace, where it may make a
    new PID namespace for each job (see :func:`start_job`). ``staging``: a
    folder the waiting process removes once the worker is gone (the view's
    mount point), even if the grader itself was killed.

    Raises:
        Unavailable: the kernel allows no user, mount or PID namespace here.
    """
    global _pid_ns_fd
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID), "unshare(mount, pid)")
    else:
        _check(
            _libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID), "unshare(user, mount, pid)"
        )
        _write_file("/proc/self/setgroups", "deny")
        _write_file("/proc/self/uid_map", f"{uid} {uid} 1")
        _write_file("/proc/self/gid_map", f"{gid} {gid} 1")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    pid = os.fork()
    if pid:
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if staging is not None:  # this process shares the worker's mount namespace
            _libc.umount2(staging.encode(), MNT_DETACH)
            try:
                os.rmdir(staging)
            except OSError:
                pass
        os._exit(code if code >= 0 else 128 - code)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    _pid_ns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


def build_view(staging: str) -> View:
    """Mount the jobs' read-only view on ``staging`` (an existing folder), in this worker's
    mount namespace only (see :func:`enter_worker`)."""
    uid, gid = os.getuid(), os.getgid()
    sources = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path) or os.path.isdir(path):
            sources.append((path, [path]))
    for path in python_paths():
        real = os.path.realpath(path)
        sources.append((real, sorted({path, real})))
    opened = []  # opened before staging covers any of them
    for source, targets in sources:
        fd = None if os.path.islink(source) else os.open(source, os.O_PATH)
        opened.append((fd, source, targets))
    try:
        mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")
        view = View(staging, uid == 0, uid, gid)
        bound: list[str] = []
        for fd, source, targets in opened:
            for target in targets:
                if _covered(target, bound):
                    continue
                inside = staging + target
                if fd is None:  # a symbolic link such as /bin -> usr/bin
                    os.makedirs(os.path.dirname(inside), exist_ok=True)
                    os.symlink(os.readlink(source), inside)
                    continue
                if os.path.isdir(source):
                    os.makedirs(inside, exist_ok=True)
                else:
                    os.makedirs(os.path.dirname(inside), exist_ok=True)
                    open(inside, "w").close()
                _bind(fd, source, inside)
                bound.append(target)
        view.binds = bound
        for name in ("proc", "tmp", "var/tmp", "dev/shm", "etc"):
            os.makedirs(f"{staging}/{name}", exist_ok=True)
        for path in ETC_FILES:
            if os.path.islink(path):
                os.symlink(os.readlink(path), staging + path)
            elif os.path.isfile(path):
                open(staging + path, "w").close()
                fd = os.open(path, os.O_PATH)
                _bind(fd, path, staging + path)
                os.close(fd)
        for name in DEVICES:
            target = f"{staging}/dev/{name}"
            open(target, "w").close()
            fd = os.open(f"/dev/{name}", os.O_PATH)
            _bind(fd, f"/dev/{name}", target, read_only=False)
            os.close(fd)
        for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0")):
            os.symlink(link, f"{staging}/dev/{name}")
        os.symlink("/proc/self/fd/1", f"{staging}/dev/stdout")
        os.symlink("/proc/self/fd/2", f"{staging}/dev/stderr")
        mount(None, staging, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        for fd, _, _ in opened:
            if fd is not None:
                os.close(fd)
    return view


def cover(view: View, hidden: tuple[str, ...]) -> None:
    """Cover each folder of ``hidden`` that lies inside the view (the results, the
    submissions, should they sit in a library folder) with an empty, read-only tmpfs."""
    for path in hidden:
        real = os.path.realpath(path)
        if _covered(real, view.binds) and os.path.isdir(view.root + real):
            mount("tmpfs", view.root + real, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k")


def probe(view: View) -> None:
    """Start one empty job in the view.

    Raises:
        Unavailable: the kernel refused a step (named in the message).
    """
    r, w = os.pipe()
    pid = start_job()
    if pid == 0:
        os.close(r)
        try:
            enter_view(view)
        except BaseException as e:  # noqa: BLE001 (reported to the worker, never raised here)
            os.write(w, str(e).encode()[:500])
            os._exit(1)
        os._exit(0)
    os.close(w)
    message = os.read(r, 600).decode(errors="replace")
    os.close(r)
    status = os.waitpid(pid, 0)[1]
    if status != 0:
        raise Unavailable(errno.EPERM, message or f"a test job ended with status {status}")


def _setns(fd: int, kind: int) -> None:
    _check(_libc.setns(fd, kind), "setns")


def start_job() -> int:
    """Fork a job's process as PID 1 of a new PID namespace: 0 in it, its pid in the worker.

    When that process dies, the kernel kills every process left in its
    namespace, and the worker's ``waitpid`` returns only once they are all
    gone. The child continues with :func:`enter_view`.

    Raises:
        Unavailable: no PID namespace allowed (no child was made).
    """
    _setns(_pid_ns_fd, CLONE_NEWPID)  # back to our own, so a new one may be made
    _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
    pid = -1
    try:
        pid = os.fork()
    finally:
        if pid != 0:
            _setns(_pid_ns_fd, CLONE_NEWPID)
    if pid == 0:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    return pid


def enter_view(view: View) -> None:
    """In a job's PID 1 (see :func:`start_job`): new IPC, mount, network and UTS namespaces,
    its own ``/proc`` and private, size-limited ``/tmp``, ``/var/tmp`` and ``/dev/shm``, the
    view as ``/``, then no privilege left and a user namespace of its own.

    Raises:
        Unavailable: a namespace or mount was refused.
    """
    _check(
        _libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS),
        "unshare(mount, ipc, net, uts)",
    )
    root = view.root
    mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    owner = f"uid={NOBODY},gid={NOBODY}," if view.root_mode else ""
    for path in JOB_TMPFS:
        mount(
            "tmpfs",
            root + path,
            "tmpfs",
            MS_NOSUID | MS_NODEV,
            f"{owner}mode=1777,size={view.tmpfs_size},nr_inodes=4096",
        )
    os.chdir(root)
    _check(_libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "umount the old root")
    os.chdir("/tmp")
    drop_privileges(view)


def drop_privileges(view: View) -> None:
    """Nobody when the grader is root, the user's own uid otherwise; then a user namespace of
    the job's own (its processes are counted there, so ``RLIMIT_NPROC`` caps the whole job)
    with every capability dropped, and no way to gain one (``no_new_privs``)."""
    if view.root_mode:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)  # clears the capabilities
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # or /proc/self/uid_map stays root's
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
    _write_file("/proc/self/uid_map", f"{uid} {uid} 1")
    _write_file("/proc/self/setgroups", "deny")
    _write_file("/proc/self/gid_map", f"{gid} {gid} 1")
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break

    class Header(ctypes.Structure):
        _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))

    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(ctypes.byref(Header(0x20080522, 0)), data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def boot(argv: list[str]) -> None:
    """A grading worker's entry point (see pool.py): ``SLOT STAGING [--trusted-code]``.

    Enters the worker's namespaces before anything starts a thread, mounts the
    jobs' view, runs one empty job in it, then runs
    :func:`d2lcnn.grading.worker.main`. Where the kernel refuses any of it, says
    so on stderr and exits 3, unless ``--trusted-code`` was given.
    """
    global VIEW
    slot, staging, trusted = int(argv[0]), argv[1], "--trusted-code" in argv[2:]
    if not trusted:
        try:
            enter_worker(staging)
            VIEW = build_view(staging)
            probe(VIEW)
        except OSError as e:
            print(
                f"d2lcnn grade: cannot isolate student code on this machine ({e.strerror}). "
                "The grader needs Linux user, PID and mount namespaces: run it as root, or "
                "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 "
                "on Debian; kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu 24.04), "
                "or, for code you trust, pass --trusted-code to grade without isolation.",
                file=sys.stderr,
                flush=True,
            )
            os._exit(3)
    from .worker import main

    main(slot)
