"""Exercises of the chapter "Padding and stride" (solutions/03_padding_stride.ipynb)."""

from typing import Any

import torch
from torch.nn import functional as F

from ..registry import Case, Exercise, register
from .common import CONV_POOL_ALLOWED, CONV_POOL_FORBIDDEN, randint, randn
from .mistaken import dilated_mistakes, pad_stride_mistakes

NOTEBOOK = "solutions/03_padding_stride.ipynb"


def _conv(X: torch.Tensor, K: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    X, K = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(K, dtype=torch.float64)
    return F.conv2d(X[None, None], K[None, None], **kwargs)[0, 0]


def corr2d_pad_stride_reference(
    X: torch.Tensor,
    K: torch.Tensor,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Cross-correlation of (h, w) X with (kh, kw) K after zero padding, at the given stride."""
    return _conv(X, K, padding=padding, stride=stride)


def corr2d_pad_stride_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("1x1 kernel, stride 2", (randn(gen)(5, 6), randn(gen)(1, 1)), {"stride": 2}),
        Case(
            "kernel as large as the padded input",
            (randn(gen)(3, 4), randn(gen)(5, 6)),
            {"padding": 1},
        ),
        Case(
            "stride larger than the kernel",
            (randn(gen)(9, 10), randn(gen)(2, 2)),
            {"stride": (3, 4)},
        ),
        Case(
            "padding only along the width",
            (randn(gen)(4, 7), randn(gen)(3, 3)),
            {"padding": (0, 2), "stride": (1, 2)},
        ),
        Case(
            "fractional and negative values",
            (randn(gen)(6, 6) * 0.37 - 0.5, -1.5 * randn(gen)(2, 3)),
            {"padding": (2, 1), "stride": 2},
        ),
    ]
    for _ in range(4):
        h, w = randint(gen, 2, 12), randint(gen, 2, 12)
        ph, pw, sh, sw = (
            randint(gen, 0, 3),
            randint(gen, 0, 3),
            randint(gen, 1, 4),
            randint(gen, 1, 4),
        )
        kh, kw = randint(gen, 1, h + 2 * ph + 1), randint(gen, 1, w + 2 * pw + 1)
        cases.append(
            Case(
                f"random {h}x{w} input, {kh}x{kw} kernel, padding ({ph}, {pw}), "
                f"stride ({sh}, {sw})",
                (randn(gen)(h, w), randn(gen)(kh, kw)),
                {"padding": (ph, pw), "stride": (sh, sw)},
            )
        )
    return cases


register(
    Exercise(
        name="corr2d_pad_stride",
        signature="corr2d_pad_stride(X, K, padding=0, stride=1)",
        notebook=NOTEBOOK,
        reference=corr2d_pad_stride_reference,
        public_cases=(
            Case(
                "3x3 kernel, padding 1 keeps 8x8",
                (torch.arange(64.0).reshape(8, 8) / 10, torch.arange(9.0).reshape(3, 3) - 4),
                {"padding": 1},
            ),
            Case(
                "padding 1, stride 2",
                (torch.arange(25.0).reshape(5, 5), torch.ones(2, 2)),
                {"padding": 1, "stride": 2},
            ),
            Case(
                "pairs: kernel (3, 5), padding (0, 1), stride (3, 4)",
                (torch.arange(64.0).reshape(8, 8), torch.arange(15.0).reshape(3, 5) - 7),
                {"padding": (0, 1), "stride": (3, 4)},
            ),
        ),
        hidden_cases=corr2d_pad_stride_hidden,
        allowed=CONV_POOL_ALLOWED
        + ", and padding with zeros yourself (torch.zeros + slicing, or F.pad)",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=pad_stride_mistakes(),
        course_helpers=("corr2d",),
    )
)


def corr2d_dilated_reference(X: torch.Tensor, K: torch.Tensor, dilation: int = 1) -> torch.Tensor:
    """Cross-correlation of (h, w) X with (kh, kw) K whose taps are ``dilation`` pixels apart."""
    return _conv(X, K, dilation=dilation)


def corr2d_dilated_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case(
            "1x1 kernel ignores the dilation", (randn(gen)(4, 5), randn(gen)(1, 1)), {"dilation": 3}
        ),
        Case(
            "dilated kernel as large as the input",
            (randn(gen)(5, 7), randn(gen)(3, 4)),
            {"dilation": 2},
        ),
        Case(
            "dilation along the height only",
            (randn(gen)(7, 4), randn(gen)(2, 2)),
            {"dilation": (3, 1)},
        ),
        Case(
            "fractional and negative values",
            (randn(gen)(8, 8) * 0.37 - 0.5, -1.5 * randn(gen)(3, 2)),
            {"dilation": (2, 3)},
        ),
    ]
    for _ in range(4):
        dh, dw, kh, kw = (
            randint(gen, 1, 4),
            randint(gen, 1, 4),
            randint(gen, 1, 4),
            randint(gen, 1, 4),
        )
        h, w = dh * (kh - 1) + 1 + randint(gen, 0, 6), dw * (kw - 1) + 1 + randint(gen, 0, 6)
        cases.append(
            Case(
                f"random {h}x{w} input, {kh}x{kw} kernel, dilation ({dh}, {dw})",
                (randn(gen)(h, w), randn(gen)(kh, kw)),
                {"dilation": (dh, dw)},
            )
        )
    return cases


register(
    Exercise(
        name="corr2d_dilated",
        signature="corr2d_dilated(X, K, dilation=1)",
        notebook=NOTEBOOK,
        reference=corr2d_dilated_reference,
        public_cases=(
            Case(
                "5x5 input, 2x2 kernel of ones, dilation 2",
                (torch.arange(25.0).reshape(5, 5), torch.ones(2, 2)),
                {"dilation": 2},
            ),
            Case(
                "dilation 1 is plain cross-correlation",
                (torch.arange(12.0).reshape(3, 4), torch.tensor([[1.0, -1.0]])),
                {"dilation": 1},
            ),
            Case(
                "pair dilation, 3x3 kernel",
                (torch.arange(63.0).reshape(7, 9), torch.arange(9.0).reshape(3, 3) - 4),
                {"dilation": (2, 3)},
            ),
        ),
        hidden_cases=corr2d_dilated_hidden,
        allowed=CONV_POOL_ALLOWED + ", and strided slicing of X",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=dilated_mistakes(),
        course_helpers=("corr2d",),
    )
)
