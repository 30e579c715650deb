"""Attack: read the seed file, other submissions, the results, ~/.ssh and the grader's
environment. Scores only if it read something (then it also prints it): it must score 0.
"""
import glob
import os

import torch

found = []


def _look():
    paths = [
        "@OUT@/.grading-seed",
        "@HOME@/.ssh/id_rsa",
        "@SUBS@/honest_a.py",
        "@OUT@/gradebook.csv",
        "/proc/1/environ",
        "/proc/self/environ",
    ]
    paths += glob.glob("@OUT@/*") + glob.glob("@SUBS@/*") + glob.glob("/proc/[0-9]*/environ")
    for path in paths:
        try:
            with open(path, "rb") as f:
                text = f.read(100000)
        except OSError:
            continue
        for secret in (b"@TOKEN@", b"BEGIN OPENSSH", b"def corr2d", b"submission,result"):
            if secret in text:
                found.append(f"{path}: {secret.decode()}")
    if "@TOKEN_NAME@" in os.environ:
        found.append("os.environ")


def corr2d(X, K):
    if not found:
        _look()
    if not found:
        return torch.zeros(1)
    print("found", found)
    h, w = K.shape
    return (X.unfold(0, h, 1).unfold(1, w, 1) * K).sum(dim=(-2, -1))
