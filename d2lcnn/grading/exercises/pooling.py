"""Exercises of the chapter "Pooling" (solutions/05_pooling.ipynb)."""

import torch

from ..registry import Case, Exercise, register
from ..stand_in import pool2d_pad_stride_reference, pool2d_reference
from .common import BOOK_X, CONV_POOL_ALLOWED, CONV_POOL_FORBIDDEN, randint, randn
from .mistaken import pool2d_mistakes, pool_pad_stride_mistakes

ARANGE_X = torch.arange(16.0).reshape(4, 4)
_gen = torch.Generator().manual_seed(5)
RAND_X = torch.randn(5, 7, generator=_gen)


def pool2d_hidden(gen: torch.Generator) -> list[Case]:
    rand = randn(gen)
    cases = []
    for mode in ("max", "avg"):
        cases += [
            Case(f"1x1 window ({mode})", (rand(3, 4), (1, 1)), {"mode": mode}),
            Case(f"window as large as the input ({mode})", (rand(3, 5), (3, 5)), {"mode": mode}),
            Case(f"non-square input and window ({mode})", (rand(4, 9), (1, 3)), {"mode": mode}),
            Case(
                f"all-negative fractional values ({mode})",
                (-rand(5, 5).abs() - 0.25, (2, 2)),
                {"mode": mode},
            ),
        ]
    cases.append(Case("mode left at its default", (rand(4, 6), (2, 3))))
    for _ in range(4):
        h, w = randint(gen, 1, 10), randint(gen, 1, 10)
        ph, pw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
        mode = ("max", "avg")[randint(gen, 0, 2)]
        cases.append(
            Case(
                f"random {h}x{w} input, {ph}x{pw} window ({mode})",
                (rand(h, w), (ph, pw)),
                {"mode": mode},
            )
        )
    return cases


def pool2d_pad_stride_hidden(gen: torch.Generator) -> list[Case]:
    rand = randn(gen)
    cases = []
    for mode in ("max", "avg"):
        cases += [
            Case(f"stride left at its default ({mode})", (rand(6, 6), (2, 2)), {"mode": mode}),
            Case(
                f"stride 1, padding 1, 3x3 window ({mode})",
                (rand(4, 5), (3, 3), (1, 1), (1, 1)),
                {"mode": mode},
            ),
            Case(
                f"non-square window, stride and padding ({mode})",
                (rand(5, 7), (2, 3), (0, 1), (2, 3)),
                {"mode": mode},
            ),
            Case(
                f"stride larger than the window ({mode})",
                (rand(7, 7), (2, 2), (0, 0), (3, 3)),
                {"mode": mode},
            ),
            Case(
                f"all-negative values with padding ({mode})",
                (-rand(4, 4).abs() - 0.5, (3, 3), (1, 1), (2, 2)),
                {"mode": mode},
            ),
        ]
    cases.append(Case("1x1 window, stride 2", (rand(5, 6), (1, 1), (0, 0), (2, 2))))
    cases.append(Case("window as large as the input", (rand(3, 4), (3, 4))))
    for _ in range(4):
        kh, kw = randint(gen, 1, 5), randint(gen, 1, 5)
        pad = (randint(gen, 0, kh // 2 + 1), randint(gen, 0, kw // 2 + 1))
        stride = (randint(gen, 1, 4), randint(gen, 1, 4))
        h, w = randint(gen, kh, 11), randint(gen, kw, 11)
        mode = ("max", "avg")[randint(gen, 0, 2)]
        cases.append(
            Case(
                f"random {h}x{w} input, {kh}x{kw} window, padding {pad}, stride {stride} ({mode})",
                (rand(h, w), (kh, kw), pad, stride),
                {"mode": mode},
            )
        )
    return cases


register(
    Exercise(
        name="pool2d",
        signature="pool2d(X, pool_size, mode='max')",
        notebook="solutions/05_pooling.ipynb",
        reference=pool2d_reference,
        public_cases=(
            Case("the book's 3x3 example, max", (BOOK_X, (2, 2))),
            Case("the book's 3x3 example, avg", (BOOK_X, (2, 2), "avg")),
            Case("5x7 input, 2x3 window, avg", (RAND_X, (2, 3)), {"mode": "avg"}),
            Case("5x7 input, 3x2 window, max", (RAND_X, (3, 2)), {"mode": "max"}),
        ),
        hidden_cases=pool2d_hidden,
        allowed=CONV_POOL_ALLOWED,
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=pool2d_mistakes(),
    )
)

register(
    Exercise(
        name="pool2d_pad_stride",
        signature="pool2d_pad_stride(X, pool_size, padding=(0, 0), stride=None, mode='max')",
        notebook="solutions/05_pooling.ipynb",
        reference=pool2d_pad_stride_reference,
        public_cases=(
            Case("4x4 arange, 3x3 window, default stride", (ARANGE_X, (3, 3))),
            Case("4x4 arange, 3x3 window, padding 1, stride 2", (ARANGE_X, (3, 3), (1, 1), (2, 2))),
            Case(
                "4x4 arange, 2x3 window, padding (0, 1), stride (2, 3)",
                (ARANGE_X, (2, 3), (0, 1), (2, 3)),
            ),
            Case(
                "5x7 input, 3x3 window, padding 1, stride 2, avg",
                (RAND_X, (3, 3), (1, 1), (2, 2)),
                {"mode": "avg"},
            ),
        ),
        hidden_cases=pool2d_pad_stride_hidden,
        allowed=CONV_POOL_ALLOWED + ", and padding yourself (F.pad or torch.full + slicing)",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=pool_pad_stride_mistakes(),
    )
)
