"""Hostile: reaches scipy's and numpy's convolutions through their private modules, by names
built at run time (the static check cannot see them), and through gc (the originals)."""

import gc
import importlib

import numpy as np
import torch


def _name(*parts):
    return "".join(parts)


def _module(*parts):
    return importlib.import_module(_name(*parts))


def corr2d(X, K):  # scipy.signal's own home of correlate2d
    tools = _module("scipy.signal._signal", "tools")
    return torch.tensor(tools.correlate2d(X.numpy(), K.numpy(), mode="valid"), dtype=X.dtype)


def conv2d_true(X, K):  # the compiled function under correlate2d and convolve2d
    sig = _module("scipy.signal._sig", "tools")
    out = getattr(sig, _name("_convolve", "2d"))(X.numpy(), K.numpy(), 1, 0, 0, 0)
    return torch.tensor(out, dtype=X.dtype)


def pool2d(X, pool_size, mode="max"):  # scipy.ndimage's filters, from their own module
    filters = _module("scipy.ndimage._fil", "ters")
    p_h, p_w = pool_size
    fn = filters.maximum_filter if mode == "max" else filters.uniform_filter
    full = fn(X.numpy().astype(np.float64), size=(p_h, p_w), mode="constant")
    h, w = X.shape[0] - p_h + 1, X.shape[1] - p_w + 1
    return torch.tensor(full[p_h // 2 : p_h // 2 + h, p_w // 2 : p_w // 2 + w], dtype=X.dtype)


def _original(name):
    """The compiled function, from any dict on the heap (CPython keeps a copy of an extension
    module's dict), unfrozen first; else whatever holds its name there."""
    gc.unfreeze()
    found = [o.get(name) for o in gc.get_objects() if type(o) is dict and callable(o.get(name))]
    compiled = [f for f in found if type(f).__name__ == "builtin_function_or_method"]
    return (compiled or found)[0]


def corr2d_multi_in(X, K):  # numpy's compiled 1-D correlation, row by row
    correlate = _original(_name("corre", "late2"))
    c, k_h, k_w = K.shape
    h, w = X.shape[1] - k_h + 1, X.shape[2] - k_w + 1
    out = np.zeros((h, w))
    for i in range(h):
        for ch in range(c):
            for a in range(k_h):
                row, kernel = X[ch, i + a].double().numpy(), K[ch, a].double().numpy()
                out[i] += correlate(row, kernel, 0)  # mode 0: valid
    return torch.tensor(out, dtype=X.dtype)


def corr2d_multi_in_out(X, K):  # numpy.ma's correlate, a Python route to the same function
    ma = _module("numpy.ma.co", "re")
    c_o, c_i, k_h, k_w = K.shape
    h, w = X.shape[1] - k_h + 1, X.shape[2] - k_w + 1
    out = np.zeros((c_o, h, w))
    for o in range(c_o):
        for i in range(h):
            for ch in range(c_i):
                for a in range(k_h):
                    row, kernel = X[ch, i + a].double().numpy(), K[o, ch, a].double().numpy()
                    out[o, i] += np.asarray(ma.correlate(row, kernel, mode="valid"))
    return torch.tensor(out, dtype=X.dtype)
