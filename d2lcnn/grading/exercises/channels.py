"""Exercises of the chapter "Multiple input and output channels" (solutions/04_channels.ipynb)."""

import torch

from ..registry import Case, Exercise, register
from ..stand_in import corr2d_multi_in_out_reference, corr2d_multi_in_reference
from .common import (
    BOOK_MULTI_K,
    BOOK_MULTI_X,
    CONV_POOL_ALLOWED,
    CONV_POOL_FORBIDDEN,
    randint,
    randn,
)
from .mistaken import multi_1x1_mistakes, multi_in_mistakes, multi_in_out_mistakes

_gen = torch.Generator().manual_seed(4)
RAND_X = torch.randn(3, 5, 6, generator=_gen)  # (c_i, h, w)
RAND_K = torch.randn(3, 2, 3, generator=_gen)  # (c_i, kh, kw)
RAND_K4 = torch.randn(4, 3, 2, 3, generator=_gen)  # (c_o, c_i, kh, kw)
RAND_K1 = torch.randn(4, 3, 1, 1, generator=_gen)  # (c_o, c_i, 1, 1)


def multi_in_hidden(gen: torch.Generator) -> list[Case]:
    rand = randn(gen)
    cases = [
        Case("a single channel", (rand(1, 4, 5), rand(1, 2, 2))),
        Case("1x1 kernels", (rand(3, 4, 4), rand(3, 1, 1))),
        Case("kernel as large as the input", (rand(2, 3, 4), rand(2, 3, 4))),
        Case("non-square input and kernel", (rand(4, 3, 7), rand(4, 3, 2))),
        Case("fractional and negative values", (rand(2, 5, 5) * 0.3 - 0.7, rand(2, 2, 3) * -2.5)),
    ]
    for _ in range(3):
        c, h, w = randint(gen, 1, 6), randint(gen, 2, 10), randint(gen, 2, 10)
        kh, kw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
        cases.append(
            Case(
                f"random {c} channels, {h}x{w} input, {kh}x{kw} kernel",
                (rand(c, h, w), rand(c, kh, kw)),
            )
        )
    return cases


def multi_in_out_hidden(gen: torch.Generator) -> list[Case]:
    rand = randn(gen)
    cases = [
        Case("one input and one output channel", (rand(1, 4, 5), rand(1, 1, 2, 2))),
        Case("one output channel", (rand(3, 4, 4), rand(1, 3, 2, 2))),
        Case("1x1 kernels", (rand(3, 4, 5), rand(2, 3, 1, 1))),
        Case("kernel as large as the input", (rand(2, 3, 4), rand(5, 2, 3, 4))),
        Case("non-square input and kernel", (rand(2, 3, 8), rand(3, 2, 3, 1))),
        Case(
            "fractional and negative values", (rand(2, 5, 5) * 0.3 - 0.7, rand(3, 2, 2, 3) * -2.5)
        ),
    ]
    for _ in range(3):
        ci, co, h, w = (
            randint(gen, 1, 5),
            randint(gen, 1, 5),
            randint(gen, 2, 9),
            randint(gen, 2, 9),
        )
        kh, kw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
        cases.append(
            Case(
                f"random {ci}->{co} channels, {h}x{w} input, {kh}x{kw} kernel",
                (rand(ci, h, w), rand(co, ci, kh, kw)),
            )
        )
    return cases


def multi_in_out_1x1_hidden(gen: torch.Generator) -> list[Case]:
    rand = randn(gen)
    cases = [
        Case("one input and one output channel", (rand(1, 4, 5), rand(1, 1, 1, 1))),
        Case("a 1x1 image", (rand(5, 1, 1), rand(3, 5, 1, 1))),
        Case("non-square input", (rand(2, 2, 9), rand(4, 2, 1, 1))),
        Case("more output than input channels", (rand(2, 3, 3), rand(6, 2, 1, 1))),
        Case(
            "fractional and negative values", (rand(3, 4, 4) * 0.3 - 0.7, rand(2, 3, 1, 1) * -2.5)
        ),
    ]
    for _ in range(3):
        ci, co, h, w = (
            randint(gen, 1, 8),
            randint(gen, 1, 8),
            randint(gen, 1, 12),
            randint(gen, 1, 12),
        )
        cases.append(
            Case(f"random {ci}->{co} channels, {h}x{w} input", (rand(ci, h, w), rand(co, ci, 1, 1)))
        )
    return cases


register(
    Exercise(
        name="corr2d_multi_in",
        signature="corr2d_multi_in(X, K)",
        notebook="solutions/04_channels.ipynb",
        reference=corr2d_multi_in_reference,
        public_cases=(
            Case("the book's two-channel example", (BOOK_MULTI_X, BOOK_MULTI_K)),
            Case("three channels, 5x6 input, 2x3 kernel", (RAND_X, RAND_K)),
        ),
        hidden_cases=multi_in_hidden,
        allowed=CONV_POOL_ALLOWED + ", and your own corr2d per channel",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=multi_in_mistakes(),
        course_helpers=("corr2d",),
    )
)

register(
    Exercise(
        name="corr2d_multi_in_out",
        signature="corr2d_multi_in_out(X, K)",
        notebook="solutions/04_channels.ipynb",
        reference=corr2d_multi_in_out_reference,
        public_cases=(
            Case(
                "the book's example with kernels K, K + 1, K + 2",
                (BOOK_MULTI_X, torch.stack((BOOK_MULTI_K, BOOK_MULTI_K + 1, BOOK_MULTI_K + 2), 0)),
            ),
            Case("3 -> 4 channels, 5x6 input, 2x3 kernel", (RAND_X, RAND_K4)),
        ),
        hidden_cases=multi_in_out_hidden,
        allowed=CONV_POOL_ALLOWED + ", and your own corr2d_multi_in per output channel",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=multi_in_out_mistakes(),
        course_helpers=("corr2d", "corr2d_multi_in"),
    )
)

register(
    Exercise(
        name="corr2d_multi_in_out_1x1",
        signature="corr2d_multi_in_out_1x1(X, K)",
        notebook="solutions/04_channels.ipynb",
        reference=corr2d_multi_in_out_reference,
        public_cases=(
            Case(
                "2 -> 3 channels on the book's 3x3 input",
                (BOOK_MULTI_X, torch.tensor([1.0, -1.0, 0.5, 2.0, 0.0, 3.0]).reshape(3, 2, 1, 1)),
            ),
            Case("3 -> 4 channels, 5x6 input", (RAND_X, RAND_K1)),
        ),
        hidden_cases=multi_in_out_1x1_hidden,
        allowed="reshape and matmul (a 1x1 convolution is a matrix product per pixel)",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=multi_1x1_mistakes(),
    )
)
