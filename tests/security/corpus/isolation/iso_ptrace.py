"""Attack: ptrace every process it can name (the grader, its workers). Scores only if an
attach to a process other than its own children succeeded: it must score 0.
"""
import ctypes
import os

import torch

attached = []


def _attach():
    libc = ctypes.CDLL(None, use_errno=True)
    candidates = {int(p) for p in os.listdir("/proc") if p.isdigit()} | set(range(1, 3000))
    for pid in sorted(candidates - {os.getpid()}):
        if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
            attached.append(pid)
            libc.ptrace(17, pid, None, None)  # PTRACE_DETACH


def corr2d(X, K):
    if not attached:
        _attach()
    if not attached:
        return torch.zeros(1)
    print("attached", attached)
    h, w = K.shape
    return (X.unfold(0, h, 1).unfold(1, w, 1) * K).sum(dim=(-2, -1))
