"""The grader's pool of workers (see worker.py): one job in, one reply out, per worker."""

import os
import queue
import subprocess
import sys

from .protocol import Job, Limits, ProtocolError, Reply, decode_reply, encode_job


class WorkerFailed(RuntimeError):
    """A worker could not start: grading cannot go on in this environment."""


def limits(timeout: float, memory_mib: int = 2048) -> Limits:
    """Resource limits for one job: CPU seconds, address space on top of what the worker maps
    (torch alone maps about 3 GiB of virtual memory), file size, processes."""
    return Limits(
        cpu_s=int(timeout) + 1,
        extra_as_bytes=memory_mib * 2**20,
        fsize_bytes=16 * 2**20,
        nproc=64,
    )


class Worker:
    """One ``python -m d2lcnn.grading.worker`` process; it imports torch while the grader reads files."""

    def __init__(self, slot: int) -> None:
        self.slot, self.ready = slot, False
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(
            os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "d2lcnn.grading.worker", str(self.slot)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
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


class Pool:
    """``n`` workers; :meth:`execute` from any thread uses a free one."""

    def __init__(self, n: int) -> None:
        self.free: queue.Queue[Worker] = queue.Queue()
        self.workers = [Worker(slot) for slot in range(n)]
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
