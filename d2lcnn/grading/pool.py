"""The grader's pool of workers (see worker.py): one job in, one reply out, per worker."""

import os
import queue
import subprocess
import sys
import tempfile

from .protocol import Job, Limits, ProtocolError, Reply, decode_reply, encode_job


class WorkerFailed(RuntimeError):
    """A worker could not start: grading cannot go on in this environment."""


def limits(timeout: float, memory_mib: int = 1024) -> Limits:
    """Resource limits for one job: CPU seconds and address space (on top of what the worker
    maps: torch alone maps about 3 GiB of virtual memory) per process, file size, and
    processes for the whole job (counted in its own user namespace), so a job holds at most
    ``nproc * memory_mib`` MiB."""
    return Limits(
        cpu_s=int(timeout) + 1,
        extra_as_bytes=memory_mib * 2**20,
        fsize_bytes=16 * 2**20,
        nproc=8,
    )


# Loads namespaces.py without importing the d2lcnn package (which imports torch and so
# starts threads: a process with threads may not enter a user namespace), then boots.
BOOT = """
import importlib.util, sys
sys.path[:] = [p for p in sys.path if p]  # never the grader's working folder
home = importlib.util.find_spec("d2lcnn").submodule_search_locations[0]
spec = importlib.util.spec_from_file_location(
    "d2lcnn.grading.namespaces", home + "/grading/namespaces.py"
)
module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.boot(sys.argv[1:])
"""
# What a worker inherits of the grader's environment: nothing secret (tokens stay out).
WORKER_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "TMPDIR")


class Worker:
    """One grading worker process (see worker.py); it imports torch while the grader reads
    files. Unless ``trusted``, it runs in namespaces of its own (see namespaces.py), with the
    jobs' view mounted on a private staging folder, removed when it stops."""

    def __init__(self, slot: int, trusted: bool = False) -> None:
        self.slot, self.trusted, self.ready = slot, trusted, False
        self.proc: subprocess.Popen[bytes] | None = None
        self.staging: str | None = None

    def start(self) -> None:
        env = {k: os.environ[k] for k in WORKER_ENV if k in os.environ}
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
        if self.staging is None:  # a restarted worker reuses its predecessor's (empty) folder
            self.staging = tempfile.mkdtemp(prefix="d2lcnn-view-")
        args = [str(self.slot), self.staging] + (["--trusted-code"] if self.trusted else [])
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd="/",
        )
        self.ready = False

    def exchange(self, job: Job) -> Reply:
        """Send ``job``, wait for its reply; a worker that died is restarted at the next job."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            if not self.ready:
                if b"ready" not in proc.stdout.readline():
                    raise WorkerFailed(
                        f"grading worker {self.slot} failed to start (its error is above)"
                    )
                self.ready = True
            proc.stdin.write(encode_job(job))
            proc.stdin.flush()
            line = proc.stdout.readline()
            if line:
                reply = decode_reply(line)
                if reply.id == job.id:
                    return reply
        except (BrokenPipeError, ProtocolError):
            pass
        self.stop()
        return Reply(id=job.id, worker_error="the grading worker died")

    def stop(self) -> None:
        if (
            self.proc is not None and not self.ready
        ):  # never used: no need to let it finish importing
            self.proc.kill()
        if self.proc is not None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.staging is not None:
            try:
                os.rmdir(self.staging)  # its mount went with the worker's namespace
            except OSError:
                pass
            self.staging = None


class Pool:
    """``n`` workers; :meth:`execute` from any thread uses a free one."""

    def __init__(self, n: int, trusted: bool = False) -> None:
        self.free: queue.Queue[Worker] = queue.Queue()
        self.workers = [Worker(slot, trusted) for slot in range(n)]
        for w in self.workers:
            w.start()  # importing torch takes seconds: start now, wait at the first job
            self.free.put(w)

    def execute(self, job: Job) -> Reply:
        """Run ``job`` on the next free worker and return its reply."""
        worker = self.free.get()
        try:
            return worker.exchange(job)
        finally:
            self.free.put(worker)

    def close(self) -> None:
        for w in self.workers:
            w.stop()
