"""Hostile: digs the course's original corr2d out of the frames above its call and out of the
garbage collector (after unfreezing the worker's heap), and calls it."""

import gc
import sys


def _originals():
    found = []
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()):
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if callable(item) and getattr(item, "__name__", "") in ("corr2d", "corr2d_reference"):
                    found.append(item)
        frame = frame.f_back
    gc.unfreeze()
    for obj in gc.get_objects():
        if callable(obj) and getattr(obj, "__name__", "") in ("corr2d", "corr2d_reference") and getattr(obj, "__module__", "").startswith("d2lcnn"):
            found.append(obj)
    return found


def corr2d(X, K):
    for original in _originals():
        try:
            return original(X, K)
        except Exception:
            continue
    return X
