"""Compare a returned value with the expected tensor and say what is wrong.

Runs in the grader's own process on plain data, so nothing the student's code
did to torch or numpy can change the verdict.
"""

from typing import Any

import numpy as np


class Received:
    """Stands for a returned value that is not a tensor, by its type's name (the grader never sees it)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def _type_name(value: object) -> str:
    return value.type_name if isinstance(value, Received) else type(value).__name__


def to_array(value: object) -> np.ndarray | None:
    """A float64 numpy array from a tensor, array or nested list; None if it is none of those."""
    if isinstance(value, Received):
        return None
    try:
        import torch

        if isinstance(value, torch.Tensor):
            with torch._C.DisableTorchFunction():  # a subclass cannot intercept this
                value = torch.Tensor.detach(value).cpu().to(torch.float64).numpy()
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        return None
    return arr.astype(np.float64)


def compare(expected: Any, got: object, rtol: float = 1e-4, atol: float = 1e-5) -> tuple[bool, str]:
    """``(passed, message)`` for ``got`` against ``expected``.

    ``expected`` is an array-like, or a tuple of them for functions that
    return several tensors (compared item by item).

    The message says what differs (shape, NaN, first mismatching position and
    its two values), never the case's inputs.
    """
    if isinstance(expected, tuple):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return False, f"expected a tuple of {len(expected)} tensors, got {_type_name(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            ok, message = compare(e, g, rtol, atol)
            if not ok:
                return False, f"item {i} of the returned tuple: {message}"
        return True, "ok"
    want = to_array(expected)
    if want is None:
        raise TypeError(f"the reference returned {type(expected).__name__}, not array-like values")
    have = to_array(got)
    if have is None:
        return False, f"expected a tensor, got {_type_name(got)}"
    if have.shape != want.shape:
        return False, f"expected shape {tuple(want.shape)}, got {tuple(have.shape)}"
    bad = ~np.isclose(have, want, rtol=rtol, atol=atol, equal_nan=False)
    if not bad.any():
        return True, "ok"
    pos = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"at position {pos}" if pos else "in the value"
    n = int(bad.sum())
    note = " (NaN)" if np.isnan(have[pos]) else ""
    return False, (
        f"{n} of {want.size} values differ; first {where}: expected "
        f"{want[pos]:.6g}, got {have[pos]:.6g}{note}"
    )
