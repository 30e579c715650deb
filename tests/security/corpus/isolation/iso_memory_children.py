"""Attack: take memory through many children (each within the per-process limit).

Scores nothing; prints how many children it got (the job's process cap: 8 in all).
"""
import os
import time

import torch

done = []


def corr2d(X, K):
    if not done:
        done.append(1)
        pids = []
        for _ in range(16):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                try:
                    block = bytearray(400 * 2**20)
                    block[:: 4096] = b"y" * len(block[:: 4096])
                    time.sleep(2)
                finally:
                    os._exit(0)
            pids.append(pid)
        print(f"children: {len(pids)}")
        for pid in pids:
            os.waitpid(pid, 0)
    return torch.zeros(1)
