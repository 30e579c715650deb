"""Locking a sandboxed child down before student code runs: namespaces, limits, environment.

The child (see child.py) calls :func:`lock_down` once, after it has read its
job and before it loads the submission. When the worker is isolated (the
default) the child enters namespaces of its own and the read-only view as
``/`` (see namespaces.py); with ``--trusted-code`` it only gets its own
session and the limits. Either way: resource limits, and an empty environment
with the scratch folder as working folder and home.
"""

import ctypes
import os
import resource
import signal

import torch

from . import namespaces
from .protocol import Limits

PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


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
    """Namespaces (unless trusted), limits, empty environment. Must run before student code.

    Args:
        slot: the worker's slot.
        scratch: the child's working folder.
        limits: its resource limits (set last: the process limit counts in the job's
            own user namespace).
        hidden: folders the student's code must not see; the worker's view leaves them out.
    """
    os.setsid()  # own process group
    if namespaces.VIEW is not None:
        namespaces.enter_view(namespaces.VIEW)
    else:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _set_limits(limits)
    _clean_environment(scratch)
    torch.set_num_threads(1)
