"""Attack: 40 busy children in their own sessions, left running to slow the other slot down.

Scores nothing; the honest submissions (other slot, other batch) must finish in time, and
no child may outlive the job.
"""
import os

import torch

done = []


def corr2d(X, K):
    if not done:
        done.append(1)
        started = 0
        for _ in range(40):
            try:
                if os.fork() == 0:
                    os.setsid()
                    while True:
                        pass
                started += 1
            except OSError:
                break
        print(f"busy children: {started}")
    return torch.zeros(1)
