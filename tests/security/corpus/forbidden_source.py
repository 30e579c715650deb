"""Hostile: re-creates the course's answer from its source (and from its compiled cache)."""

import glob
import inspect
import marshal
import os
import sys


def corr2d(X, K):
    namespace = {}
    try:
        exec(inspect.getsource(sys.modules["d2lcnn.chapters.conv_layer"]), namespace)
    except Exception:
        folder = os.path.dirname(sys.modules["d2lcnn.chapters.conv_layer"].__file__)
        for path in glob.glob(os.path.join(folder, "__pycache__", "conv_layer*.pyc")):
            with open(path, "rb") as f:
                exec(marshal.loads(f.read()[16:]), namespace)
    return namespace["corr2d"](X, K)
