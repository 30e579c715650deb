"""Stand-ins for graded answers in the student release of the package.

The chapter modules save the answers of some graded exercises (``corr2d``,
``pool2d``, ``batch_norm``, ...) because later chapters build on them. The
student release (``d2lcnn release``) replaces each such function's body by a
call to :func:`stand_in`: the grader's reference for that exercise, built on
the library operation the exercise forbids (``F.conv2d`` for ``corr2d``), so
later notebooks still run and the release holds no answer. Copying a stand-in
into a submission uses the forbidden operation, and calling ``d2lcnn.corr2d``
is forbidden too: either scores 0.
"""

from __future__ import annotations

from typing import Any

import torch


def _cast(value: Any, dtype: torch.dtype | None) -> Any:
    if isinstance(value, tuple):
        return tuple(_cast(v, dtype) for v in value)
    if dtype is not None and isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(dtype)
    return value


def stand_in(name: str, *args: Any, **kwargs: Any) -> Any:
    """The grader's reference for exercise ``name`` on these arguments, in the inputs' dtype.

    Args:
        name: a registered exercise, e.g. ``"corr2d"``.
        args, kwargs: the arguments of the exercise's function.

    Example::

        >>> stand_in("corr2d", torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
        tensor([[19., 25.],
                [37., 43.]])
    """
    from .registry import load_all

    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
    dtype = next((t.dtype for t in tensors if t.is_floating_point()), None)
    return _cast(load_all()[name].reference(*args, **kwargs), dtype)
