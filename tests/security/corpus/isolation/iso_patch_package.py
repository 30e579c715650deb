"""Attack: patch the installed course package (the judge) and torch for later runs. Scores
only if a write went through: it must score 0 and the package stay unchanged.
"""
import os

import d2lcnn
import torch

patched = []


def _patch():
    package = os.path.dirname(d2lcnn.__file__)
    targets = [
        os.path.join(package, "grading", "judge.py"),
        os.path.join(package, "grading", "pwned.py"),
        os.path.join(os.path.dirname(torch.__file__), "pwned.py"),
    ]
    for path in targets:  # opening for writing is enough to show it could (nothing is written)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))
            patched.append(path)
        except OSError:
            pass


def corr2d(X, K):
    if not patched:
        _patch()
    if not patched:
        return torch.zeros(1)
    h, w = K.shape
    return (X.unfold(0, h, 1).unfold(1, w, 1) * K).sum(dim=(-2, -1))
