"""Stand-ins for graded answers in the student release of the package.

The chapter modules save the answers of some graded exercises (``corr2d``,
``pool2d``, ``batch_norm``, ...) because later chapters build on them. The
student release (``d2lcnn release``) replaces each such function's body by a
call to :func:`stand_in`: the grader's reference for that exercise, built on
the library operation the exercise forbids (``F.conv2d`` for ``corr2d``), so
later notebooks still run and the release holds no answer. Copying a stand-in
into a submission uses the forbidden operation, and calling ``d2lcnn.corr2d``
is forbidden too: either scores 0.

A module exercise (``vgg_block``, ``Residual``, ...) has no such library form:
its reference is the answer. The release keeps its name and docstring, and
building it calls :func:`missing`, which says where the student writes their own.

The references live here, not in ``exercises/``, because this module ships in the
release and ``exercises/`` does not; the exercises register these very functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F


def as64(*tensors: torch.Tensor) -> list[torch.Tensor]:
    """The tensors in float64, so that references are exact to float32 tolerances."""
    return [torch.as_tensor(t, dtype=torch.float64) for t in tensors]


def corr2d_reference(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """2-D cross-correlation of (h, w) X with (kh, kw) K, by ``F.conv2d``."""
    X, K = as64(X, K)
    return F.conv2d(X[None, None], K[None, None])[0, 0]  # (h - kh + 1, w - kw + 1)


def corr2d_multi_in_reference(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(c_i, h, w) X with (c_i, kh, kw) K, summed over channels, by ``F.conv2d``."""
    X, K = as64(X, K)
    return F.conv2d(X[None], K[None])[0, 0]  # (h - kh + 1, w - kw + 1)


def corr2d_multi_in_out_reference(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(c_i, h, w) X with (c_o, c_i, kh, kw) K, by ``F.conv2d``."""
    X, K = as64(X, K)
    return F.conv2d(X[None], K)[0]  # (c_o, h - kh + 1, w - kw + 1)


def conv_transpose2d_reference(X: torch.Tensor, K: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """Transposed convolution of (h, w) X with (kh, kw) K, by ``F.conv_transpose2d``."""
    X, K = as64(X, K)
    return F.conv_transpose2d(X[None, None], K[None, None], stride=stride)[0, 0]


def grouped_conv2d_reference(X: torch.Tensor, K: torch.Tensor, groups: int) -> torch.Tensor:
    """(c_i, h, w) X with (c_o, c_i // groups, kh, kw) K in ``groups`` groups, by ``F.conv2d``."""
    X, K = as64(X, K)
    return F.conv2d(X[None], K, groups=groups)[0]  # (c_o, h - kh + 1, w - kw + 1)


def pool2d_pad_stride_reference(
    X: torch.Tensor,
    pool_size: tuple[int, int],
    padding: tuple[int, int] = (0, 0),
    stride: tuple[int, int] | None = None,
    mode: str = "max",
) -> torch.Tensor:
    """Pooling of a (h, w) X by ``F.max_pool2d`` / ``F.avg_pool2d`` (zeros padded, counted)."""
    X = torch.as_tensor(X, dtype=torch.float64)[None, None]  # (1, 1, h, w)
    stride = pool_size if stride is None else stride
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    return pool(X, pool_size, stride=stride, padding=padding)[0, 0]


def pool2d_reference(
    X: torch.Tensor, pool_size: tuple[int, int], mode: str = "max"
) -> torch.Tensor:
    """Pooling of a (h, w) X with stride 1 and no padding."""
    return pool2d_pad_stride_reference(X, pool_size, (0, 0), (1, 1), mode)


def batch_norm_reference(
    X: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    moving_mean: torch.Tensor,
    moving_var: torch.Tensor,
    eps: float,
    momentum: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(Y, moving_mean, moving_var)`` by ``F.batch_norm``; training iff grad is enabled."""
    C = X.shape[1]
    training = torch.is_grad_enabled()
    mean, var = moving_mean.reshape(C).clone(), moving_var.reshape(C).clone()
    with torch.no_grad():
        # F.batch_norm updates mean and var in place, with PyTorch's momentum
        # convention and the unbiased batch variance.
        Y = F.batch_norm(
            X,
            mean,
            var,
            gamma.reshape(C),
            beta.reshape(C),
            training=training,
            momentum=momentum,
            eps=eps,
        )
    return Y, mean.reshape(moving_mean.shape), var.reshape(moving_var.shape)


# Graded functions that later chapters call, with their library forms.
LIBRARY: dict[str, Callable[..., Any]] = {
    "corr2d": corr2d_reference,
    "corr2d_vec": corr2d_reference,
    "corr2d_multi_in": corr2d_multi_in_reference,
    "corr2d_multi_in_out": corr2d_multi_in_out_reference,
    "corr2d_multi_in_out_1x1": corr2d_multi_in_out_reference,
    "conv_transpose2d": conv_transpose2d_reference,
    "grouped_conv2d": grouped_conv2d_reference,
    "pool2d": pool2d_reference,
    "pool2d_pad_stride": pool2d_pad_stride_reference,
    "batch_norm": batch_norm_reference,
}


def _cast(value: Any, dtype: torch.dtype | None) -> Any:
    if isinstance(value, tuple):
        return tuple(_cast(v, dtype) for v in value)
    if dtype is not None and isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(dtype)
    return value


def stand_in(name: str, *args: Any, **kwargs: Any) -> Any:
    """The library form of exercise ``name`` on these arguments, in the inputs' dtype.

    Args:
        name: a key of :data:`LIBRARY`, e.g. ``"corr2d"``.
        args, kwargs: the arguments of the exercise's function.

    Example::

        >>> stand_in("corr2d", torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
        tensor([[19., 25.],
                [37., 43.]])
    """
    if name not in LIBRARY:
        raise KeyError(f"no stand-in for {name!r}; known: {', '.join(sorted(LIBRARY))}")
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
    dtype = next((t.dtype for t in tensors if t.is_floating_point()), None)
    return _cast(LIBRARY[name](*args, **kwargs), dtype)


def missing(name: str, notebook: str) -> None:
    """Raise: module exercise ``name`` is not in the student release; write it in ``notebook``.

    Example::

        >>> missing("vgg_block", "09_vgg.ipynb")
        Traceback (most recent call last):
        ...
        NotImplementedError: d2lcnn.vgg_block is a graded exercise (09_vgg.ipynb): the student release does not include it. Define your own vgg_block in that notebook and use it.
    """
    raise NotImplementedError(
        f"d2lcnn.{name} is a graded exercise ({notebook}): the student release does not "
        f"include it. Define your own {name} in that notebook and use it."
    )
