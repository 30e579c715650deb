"""Hostile: tries to smuggle the hidden inputs out through the feedback: an exception class
whose name spells them, a message, a returned value and shape, an exit code."""

import os


def corr2d(X, K):
    if X.shape == (3, 3) or X.shape == (6, 8) or X.shape == (4, 5) and K.shape == (2, 1):
        h, w = K.shape  # the public cases: right
        return X.unfold(0, h, 1).unfold(1, w, 1).mul(K).sum((-1, -2))
    code = int(X.shape[0]) * 16 + int(X.shape[1])
    kind = code % 4
    if kind == 0:
        raise type(f"LEAK_{code}", (Exception,), {})(f"LEAKMSG {X.tolist()}")
    if kind == 1:
        raise ValueError(f"LEAKMSG {X.tolist()}")
    if kind == 2:
        return X * 1000 + 7  # wrong values that are the inputs
    os._exit(code % 256)
