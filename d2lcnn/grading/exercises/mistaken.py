"""Known mistakes of the convolution and pooling exercises, as the functions they compute.

Each function takes an exercise's arguments and returns what a student who made
that mistake returns, built on torch's own ops like the references. The chapter
modules register them (``mistakes=``); :mod:`d2lcnn.grading.mistakes` matches a
failed case's value against them.
"""

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F

Mistake = tuple[Callable[..., Any], str]  # (function, sentence), as Exercise.mistakes holds them


def f64(t: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(t, dtype=torch.float64)


def pair(v: int | tuple[int, int]) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; a pair stays a pair."""
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def corr(
    X: torch.Tensor,
    K: torch.Tensor,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Cross-correlation of (h, w) X with (kh, kw) K: ``F.conv2d`` in float64."""
    return F.conv2d(
        f64(X)[None, None], f64(K)[None, None], padding=padding, stride=stride, dilation=dilation
    )[0, 0]  # (oh, ow)


def pad_one_side(X: torch.Tensor, padding: int | tuple[int, int], top_left: bool) -> torch.Tensor:
    """(h, w) X with ``padding`` zeros on the top and left only (or the bottom and right only)."""
    ph, pw = pair(padding)
    return F.pad(f64(X), (pw, 0, ph, 0) if top_left else (0, pw, 0, ph))


def ceil_extra(size: int, kernel: int, stride: int) -> int:
    """Zeros to add after a padded ``size`` so that its output size rounds up, not down."""
    out = math.ceil((size - kernel) / stride) + 1
    return (out - 1) * stride + kernel - size


def short(Y: torch.Tensor) -> torch.Tensor:
    """The last row and the last column dropped: a loop over ``range(h - kh)``."""
    return Y[..., :-1, :-1]


def zero_edge(Y: torch.Tensor) -> torch.Tensor:
    """The last row and the last column left at zero: loops that stop one short of the end."""
    Y = Y.clone()
    Y[..., -1, :] = 0
    Y[..., :, -1] = 0
    return Y


# ---- sentences shared by several exercises ------------------------------------------------

FLIPPED = (
    "Your output equals a cross-correlation with the kernel flipped: that is convolution, "
    "not cross-correlation; slide K as it is."
)
SHORT = (
    "Your output is one row and one column short: it has h - kh + 1 rows and w - kw + 1 "
    "columns, so loop over range(h - kh + 1) and range(w - kw + 1)."
)
ZERO_EDGE = (
    "Your last row and last column are left at 0: the loops stop one short; "
    "range(Y.shape[0]) already counts every output row."
)
TRANSPOSED = (
    "Your output is the correct one transposed: Y[i, j] belongs to the window at row i, "
    "column j (check which index runs over the height)."
)
KERNEL_T = (
    "Your output equals a cross-correlation with K transposed: K[a, b] multiplies "
    "X[i + a, j + b], with a along the height."
)


def corr2d_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``corr2d(X, K)`` and ``corr2d_vec(X, K)``."""
    return {
        "kernel flipped": (lambda X, K: corr(X, f64(K).flip(0, 1)), FLIPPED),
        "one row and column short": (lambda X, K: short(corr(X, K)), SHORT),
        "last row and column left at zero": (lambda X, K: zero_edge(corr(X, K)), ZERO_EDGE),
        "transposed": (lambda X, K: corr(X, K).T, TRANSPOSED),
        "kernel transposed": (lambda X, K: corr(X, f64(K).T), KERNEL_T),
    }
