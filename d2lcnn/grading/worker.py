"""A grading worker: imports torch once, then forks one sandboxed child per job.

Started by the pool through :func:`namespaces.boot`, which puts it in
namespaces of its own first (unless the code is trusted). Jobs arrive as
:class:`~d2lcnn.grading.protocol.Job` lines on stdin, replies leave as
:class:`~d2lcnn.grading.protocol.Reply` lines on stdout. Forking from a
process that has already imported torch makes a job cost milliseconds instead
of the seconds a fresh interpreter needs. The worker never runs a tensor op
itself (forking after OpenMP has started its threads can hang the child).
Each child is PID 1 of its own PID namespace (see namespaces.py): when it
ends, the kernel ends every process it started. With ``--trusted-code`` the
worker is a child subreaper instead: whatever a job leaves behind, detached
daemons included, becomes its child and is killed and reaped before the next
job.
"""

import ctypes
import gc
import importlib
import linecache
import os
import select
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import BinaryIO

from . import child, namespaces
from .protocol import Job, MessageSequence, ProtocolError, Reply, decode_job, encode_reply

PR_SET_CHILD_SUBREAPER = 36
OUTPUT_KEEP = 16 * 1024  # bytes of printed output kept; the rest is counted and dropped
RESULT_LIMIT = 64 * 2**20  # bytes of results read from a child at most
PRELOAD = (
    "collections",
    "itertools",
    "functools",
    "random",
    "time",
    "typing",
    "dataclasses",
    "copy",
    "operator",
    "string",
    "re",
    "json",
    "socket",
    "subprocess",
    "ctypes",
    "threading",
    "signal",
    "tempfile",
    "pathlib",
    "statistics",
    "fractions",
    "decimal",
    "heapq",
    "bisect",
    "array",
    "struct",
    "io",
    "warnings",
    "inspect",
    "traceback",
    "encodings.idna",
    "multiprocessing",
    "numpy",
    "torch.nn.modules.conv",
    "torch.nn.modules.pooling",
    "torch.nn.modules.fold",
    "scipy.signal",  # notebooks import it; seconds to import, so once here, not in each child
    "scipy.ndimage",
)


@dataclass
class Capped:
    """Bytes read from one of the child's pipes: the first ``limit`` kept, all counted."""

    fd: int
    limit: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    def read_some(self) -> bool:
        """Read what is available (at most 1 MiB, so a writer cannot hold us here); False at EOF."""
        for _ in range(16):
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            self.total += len(chunk)
            room = self.limit - len(self.data)
            if room > 0:
                self.data += chunk[:room]
        return True


class Results:
    """The result pipe, read as it fills: each complete line is checked against the protocol
    (:class:`~d2lcnn.grading.protocol.MessageSequence`) at once, and reading stops, the child
    to be killed, at the first bad line or beyond :data:`RESULT_LIMIT` bytes in all."""

    def __init__(self, fd: int, n_cases: int) -> None:
        self.fd, self.sequence = fd, MessageSequence(n_cases)
        self.pending, self.total = bytearray(), 0
        self.error: str | None = None
        self.truncated = False

    @property
    def broken(self) -> bool:
        return self.error is not None or self.truncated

    def read_some(self) -> bool:
        """Read what is available (at most 1 MiB at a time); False at EOF or once broken."""
        for _ in range(16):
            if self.broken:
                return False
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            self.total += len(chunk)
            if self.total > RESULT_LIMIT:
                self.truncated = True
                return False
            self.pending += chunk
            self._take_lines()
        return True

    def _take_lines(self) -> None:
        while not self.broken:
            end = self.pending.find(b"\n")
            if end < 0:
                return
            line = bytes(self.pending[:end])
            del self.pending[: end + 1]
            try:
                self.sequence.feed(line)
            except ProtocolError as e:
                self.error = str(e)[:200]
            except RecursionError:
                self.error = "a line nested too deep"


@dataclass
class Child:
    """A forked sandboxed child and the worker's ends of its pipes."""

    pid: int
    results: Results
    output: Capped
    pidfd: int | None
    start: float
    status: int = 0
    timed_out: bool = False


def _parent_map() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    parents[int(entry)] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return parents


def kill_descendants() -> None:
    """SIGKILL and reap every process below this one, until none is left."""
    me = os.getpid()
    for _ in range(200):
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return  # no child left, hence no descendant
        parents = _parent_map()
        for pid in parents:
            p, hops = pid, 0
            while p in parents and p != me and hops < 64:
                p, hops = parents[p], hops + 1
            if p == me and pid != me:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(0.002)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # the child's own process group (it called setsid)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)  # it had not got that far
        except ProcessLookupError:
            pass


def fork_child(job: Job, slot: int, scratch: str) -> Child:
    """Fork the sandboxed child for ``job``; it runs :func:`child.main` and never returns."""
    res_r, res_w = os.pipe()
    out_r, out_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = namespaces.start_job() if namespaces.VIEW is not None else os.fork()
    if pid == 0:
        try:
            os.close(res_r)
            os.close(out_r)
            child.main(job, res_w, out_w, slot, scratch)
        except BaseException:  # a grader bug before the student's code ran: show it, exit 70
            import traceback

            traceback.print_exc()
        finally:
            os._exit(70)
    os.close(res_w)
    os.close(out_w)
    for fd in (res_r, out_r):
        os.set_blocking(fd, False)
    try:
        pidfd: int | None = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    results = Results(res_r, len(job.cases))
    return Child(pid, results, Capped(out_r, OUTPUT_KEEP), pidfd, start)


def collect(proc: Child, timeout: float) -> None:
    """Read the child's pipes until it ends or ``timeout`` seconds pass (then kill it)."""
    deadline = proc.start + timeout
    pipes: dict[int, Capped | Results] = {
        proc.results.fd: proc.results,
        proc.output.fd: proc.output,
    }
    while True:
        left = deadline - time.monotonic()
        if proc.results.broken:  # a forged line or a flood: nothing more it says is read
            _kill_group(proc.pid)
            proc.status = os.waitpid(proc.pid, 0)[1]
            break
        if left <= 0:
            proc.timed_out = True
            _kill_group(proc.pid)
            proc.status = os.waitpid(proc.pid, 0)[1]
            break
        watch = list(pipes) + ([proc.pidfd] if proc.pidfd is not None else [])
        ready = select.select(watch, [], [], min(left, 0.01 if proc.pidfd is None else left))[0]
        for fd in ready:
            if fd in pipes and not pipes[fd].read_some():
                del pipes[fd]
        done, status = os.waitpid(proc.pid, os.WNOHANG)
        if done:
            proc.status = status
            break
    for pipe in pipes.values():  # what the child wrote just before it ended
        pipe.read_some()


def clean_up(proc: Child, scratch: str | None) -> None:
    """Kill whatever the job left running, close its pipes, remove its scratch folder (if on
    disk: an isolated job's is a tmpfs that went with it)."""
    _kill_group(proc.pid)
    kill_descendants()
    for fd in (proc.results.fd, proc.output.fd, proc.pidfd):
        if fd is not None:
            os.close(fd)
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


def make_reply(job: Job, proc: Child) -> Reply:
    status = proc.status
    sig = -os.waitstatus_to_exitcode(status) if os.WIFSIGNALED(status) else None
    return Reply(
        id=job.id,
        messages=tuple(proc.results.sequence.messages),
        results_truncated=proc.results.truncated,
        exit_code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        signal=signal.Signals(sig).name if sig else None,
        timed_out=proc.timed_out,
        output=proc.output.data.decode("utf-8", "replace"),
        output_bytes=proc.output.total,
        protocol_error=proc.results.error,
    )


_hidden: tuple[str, ...] = ()  # the folders covered in the jobs' view so far


def handle_job(job: Job, slot: int) -> Reply:
    """Fork a sandboxed child for ``job``, collect its results and output, clean up after it."""
    global _hidden
    if namespaces.VIEW is not None:
        if job.hidden != _hidden:  # the first job names the folders to hide
            namespaces.cover(namespaces.VIEW, job.hidden)
            _hidden = job.hidden
        scratch, on_disk = "/tmp", None  # the job's own tmpfs
    else:
        scratch = on_disk = tempfile.mkdtemp(prefix="d2lcnn-grade-")
    proc = fork_child(job, slot, scratch)
    collect(proc, job.timeout)
    clean_up(proc, on_disk)
    return make_reply(job, proc)


def preload(slot: int) -> None:
    """Import what jobs use (torch, the course, common modules) once, before any fork."""
    import torch

    torch.set_num_threads(1)  # before anything else: no OpenMP pool to break forks
    import d2lcnn  # noqa: F401  (the course package, as students import it)

    from . import kernels
    from .registry import load_all
    from .tripwires import reference_sites, tripwire_targets

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    exercises = load_all().values()
    for exercise in exercises:  # what each child's tripwires need, worked out once, here
        tripwire_targets(tuple(exercise.forbidden))
        reference_sites([exercise.reference, *child.course_answer_objects(exercise).values()])
    # every child starts with the forbidden kernels blocked
    kernels.install(tuple(tuple(e.forbidden) for e in exercises))
    linecache.clearcache()  # emptied here, so the child's clearing frees nothing (no page copies)
    gc.collect()
    gc.freeze()  # a child's garbage collector then leaves the inherited heap alone (no copy-on-write storm)


def serve(jobs: BinaryIO, replies: int, slot: int) -> None:
    """Answer each job line with a reply line until stdin closes."""
    for line in jobs:
        job = decode_job(line)
        try:
            reply = handle_job(job, slot)
        except Exception as e:  # a grader bug: report it on this job, keep serving
            reply = Reply(id=job.id, worker_error=f"{type(e).__name__}: {e}")
        data = encode_reply(reply)
        while data:
            data = data[os.write(replies, data) :]


def main(slot: int) -> None:
    """Serve jobs on stdin (isolated when :func:`namespaces.boot` made the view). Called by
    :func:`namespaces.boot`."""
    jobs = os.fdopen(os.dup(0), "rb")
    replies = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # a stray print cannot corrupt the reply channel
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's: it closes our stdin
    preload(slot)
    os.write(replies, b'{"ready": true}\n')
    serve(jobs, replies, slot)
