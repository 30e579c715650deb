"""A grading worker: imports torch once, then forks one sandboxed child per job.

Run as ``python -m d2lcnn.grading.worker SLOT``. Jobs arrive as JSON lines on
stdin, results leave as JSON lines on stdout. Forking from a process that has
already imported torch makes a job cost milliseconds instead of the seconds a
fresh interpreter needs. The worker never runs a tensor op itself (forking
after OpenMP has started its threads can hang the child), and it is a child
subreaper: whatever a job leaves behind, detached daemons included, becomes
its child and is killed and reaped before the next job.
"""

import ctypes
import gc
import json
import os
import select
import shutil
import signal
import sys
import tempfile
import time

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
)


def _read_some(fd, buf, limit):
    """Read what is available (at most 1 MiB, so a writer cannot hold us here) into ``buf``,
    keeping its first ``limit`` bytes and counting the rest; False at end of file."""
    for _ in range(16):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            return False
        buf["total"] += len(data)
        room = limit - len(buf["data"])
        if room > 0:
            buf["data"] += data[:room]
    return True


def _parent_map():
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    parents[int(entry)] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return parents


def kill_descendants():
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


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)  # the child's own process group (it called setsid)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)  # it had not got that far
        except ProcessLookupError:
            pass


def run_job(job, slot):
    """Fork a sandboxed child for ``job``, collect its results and output, clean up after it."""
    from . import sandbox

    scratch = tempfile.mkdtemp(prefix="d2lcnn-grade-")
    if os.getuid() == 0:
        os.chown(scratch, sandbox.SANDBOX_UID_BASE + slot, sandbox.SANDBOX_GID)
    res_r, res_w = os.pipe()
    out_r, out_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(res_r)
            os.close(out_r)
            sandbox.run(job, res_w, out_w, slot, scratch)
        except BaseException:  # a grader bug before the student's code ran: show it, exit 70
            import traceback

            traceback.print_exc()
        finally:
            os._exit(70)
    os.close(res_w)
    os.close(out_w)
    for fd in (res_r, out_r):
        os.set_blocking(fd, False)
    results, output = {"data": bytearray(), "total": 0}, {"data": bytearray(), "total": 0}
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    deadline = start + job["timeout"]
    status, timed_out, open_fds = None, False, {res_r, out_r}
    while status is None:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            _kill_group(pid)
            status = os.waitpid(pid, 0)[1]
            break
        watch = list(open_fds) + ([pidfd] if pidfd is not None else [])
        ready = select.select(watch, [], [], min(left, 0.01 if pidfd is None else left))[0]
        for fd in ready:
            if fd in open_fds and not _read_some(
                fd, results if fd == res_r else output, RESULT_LIMIT if fd == res_r else OUTPUT_KEEP
            ):
                open_fds.discard(fd)
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
    wall = time.monotonic() - start
    for fd in open_fds:  # what the child wrote just before it ended
        _read_some(
            fd, results if fd == res_r else output, RESULT_LIMIT if fd == res_r else OUTPUT_KEEP
        )
    _kill_group(pid)
    kill_descendants()
    for fd in (res_r, out_r, pidfd):
        if fd is not None:
            os.close(fd)
    shutil.rmtree(scratch, ignore_errors=True)

    messages, malformed = [], 0
    for line in results["data"].split(b"\n"):
        if line.strip():
            try:
                message = json.loads(line)
                if isinstance(message, dict):
                    messages.append(message)
                    continue
            except ValueError:
                pass
            malformed += 1
    sig = -os.waitstatus_to_exitcode(status) if os.WIFSIGNALED(status) else None
    return {
        "id": job["id"],
        "messages": messages,
        "malformed": malformed,
        "results_truncated": results["total"] > RESULT_LIMIT,
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": signal.Signals(sig).name if sig else None,
        "timed_out": timed_out,
        "wall_s": round(wall, 4),
        "output": output["data"].decode("utf-8", "replace"),
        "output_bytes": output["total"],
    }


def main():
    slot = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    jobs = os.fdopen(os.dup(0), "rb")
    replies = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # a stray print cannot corrupt the reply channel
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(
        signal.SIGINT, signal.SIG_IGN
    )  # Ctrl-C is the grader's to handle: it closes our stdin
    import importlib

    import torch

    torch.set_num_threads(1)  # before anything else: no OpenMP pool to break forks
    import d2lcnn  # noqa: F401  (the course package, as students import it)

    from . import sandbox
    from .registry import load_all

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    for exercise in load_all().values():
        sandbox.tripwire_targets(tuple(exercise.forbidden))
    warning = sandbox.check_interpreter_reachable(slot) if slot == 0 else None
    if warning:
        print(warning, file=sys.stderr, flush=True)
    gc.collect()
    gc.freeze()  # a child's garbage collector then leaves the inherited heap alone (no copy-on-write storm)
    os.write(replies, b'{"ready": true}\n')
    for line in jobs:
        job = json.loads(line)
        try:
            reply = run_job(job, slot)
        except Exception as e:  # a grader bug: report it on this job, keep serving
            reply = {"id": job.get("id"), "worker_error": f"{type(e).__name__}: {e}"}
        data = (json.dumps(reply) + "\n").encode()
        while data:
            data = data[os.write(replies, data) :]


if __name__ == "__main__":
    main()
