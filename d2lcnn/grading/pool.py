"""The grader's pool of workers (see worker.py): one job in, one reply out, per worker."""

import json
import os
import queue
import subprocess
import sys


class WorkerFailed(RuntimeError):
    """A worker could not start: grading cannot go on in this environment."""


def limits(timeout, memory_mib=2048):
    """Resource limits for one job: CPU seconds, address space on top of what the worker maps
    (torch alone maps about 3 GiB of virtual memory), file size, processes."""
    return {
        "cpu_s": int(timeout) + 1,
        "extra_as_bytes": memory_mib * 2**20,
        "fsize_bytes": 16 * 2**20,
        "nproc": 64,
    }


class Worker:
    """One ``python -m d2lcnn.grading.worker`` process; it imports torch while the grader reads files."""

    def __init__(self, slot):
        self.slot, self.proc, self.ready = slot, None, False

    def start(self):
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

    def run(self, job):
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            if not self.ready:
                if b"ready" not in self.proc.stdout.readline():
                    raise WorkerFailed(
                        f"grading worker {self.slot} failed to start (its error is above)"
                    )
                self.ready = True
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            if line:
                return json.loads(line)
        except (BrokenPipeError, ValueError):
            pass
        self.stop()
        return {"id": job["id"], "worker_error": "the grading worker died"}

    def stop(self):
        if (
            self.proc is not None and not self.ready
        ):  # never used: no need to let it finish importing
            self.proc.kill()
        if self.proc is not None:
            try:
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
    """``n`` workers; ``run(job)`` from any thread uses a free one."""

    def __init__(self, n):
        self.free = queue.Queue()
        self.workers = [Worker(slot) for slot in range(n)]
        for w in self.workers:
            w.start()  # importing torch takes seconds: start now, wait at the first job
            self.free.put(w)

    def run(self, job):
        worker = self.free.get()
        try:
            return worker.run(job)
        finally:
            self.free.put(worker)

    def close(self):
        for w in self.workers:
            w.stop()
