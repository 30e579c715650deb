"""Attack: fill /dev/shm, /tmp and /var/tmp, and SysV shared memory, and leave it all behind.

Scores nothing; after the batch none of it may be left on the machine.
"""
import ctypes
import os

import torch

done = []


def corr2d(X, K):
    if not done:
        done.append(1)
        block = b"x" * 2**20
        for folder in ("/dev/shm", "/tmp", "/var/tmp"):
            for n in range(64):
                try:
                    with open(f"{folder}/d2liso-{n}", "wb") as f:
                        for _ in range(16):
                            f.write(block)
                except OSError as e:
                    print(f"{folder}: stopped at {n} MiB-files: {type(e).__name__}")
                    break
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        shmid = libc.shmget(0x0D2150A, 256 * 2**20, 0o1000 | 0o666)  # IPC_CREAT
        if shmid >= 0:
            addr = libc.shmat(shmid, None, 0)
            if addr not in (None, ctypes.c_void_p(-1).value):
                ctypes.memset(addr, 1, 256 * 2**20)
            print(f"SysV segment {shmid} made")
    return torch.zeros(1)
