"""Exercises of the chapter "Convolution variants" (solutions/06_conv_variants.ipynb)."""

import torch

from ..registry import Case, Exercise, register
from ..stand_in import conv_transpose2d_reference, grouped_conv2d_reference
from .common import CONV_POOL_ALLOWED, CONV_POOL_FORBIDDEN, randint, randn
from .mistaken import conv_transpose_mistakes, grouped_mistakes

_gen = torch.Generator().manual_seed(6)


def _rand(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=_gen)


def conv_transpose2d_hidden(gen: torch.Generator) -> list[Case]:
    rand = randn(gen)
    cases = [
        Case("1x1 kernel", (rand(3, 4), rand(1, 1))),
        Case("1x1 input", (rand(1, 1), rand(3, 2))),
        Case("kernel larger than the input", (rand(2, 2), rand(4, 3))),
        Case("non-square input and kernel, stride 2", (rand(3, 5), rand(2, 3)), {"stride": 2}),
        Case("stride larger than the kernel", (rand(3, 3), rand(2, 2)), {"stride": 3}),
        Case("fractional and negative values", (rand(4, 4) * 0.3 - 0.7, rand(3, 3) * -2.5)),
    ]
    for _ in range(3):
        h, w, kh, kw = (randint(gen, 1, 7) for _ in range(4))
        stride = randint(gen, 1, 4)
        cases.append(
            Case(
                f"random {h}x{w} input, {kh}x{kw} kernel, stride {stride}",
                (rand(h, w), rand(kh, kw)),
                {"stride": stride},
            )
        )
    return cases


def grouped_conv2d_hidden(gen: torch.Generator) -> list[Case]:
    rand = randn(gen)
    cases = [
        Case("one group (an ordinary convolution)", (rand(3, 5, 5), rand(2, 3, 3, 3), 1)),
        Case("depthwise: one group per channel", (rand(4, 5, 6), rand(4, 1, 3, 3), 4)),
        Case("depthwise with two filters per channel", (rand(3, 4, 4), rand(6, 1, 2, 2), 3)),
        Case("1x1 kernels in two groups", (rand(4, 3, 5), rand(6, 2, 1, 1), 2)),
        Case("kernel as large as the input", (rand(4, 3, 4), rand(2, 2, 3, 4), 2)),
        Case("a single channel", (rand(1, 4, 4), rand(1, 1, 2, 3), 1)),
        Case(
            "fractional and negative values",
            (rand(6, 4, 4) * 0.3 - 0.7, rand(3, 2, 2, 2) * -2.5, 3),
        ),
    ]
    for _ in range(3):
        groups = randint(gen, 1, 4)
        ci, co = groups * randint(gen, 1, 4), groups * randint(gen, 1, 4)
        h, w = randint(gen, 2, 9), randint(gen, 2, 9)
        kh, kw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
        cases.append(
            Case(
                f"random {ci}->{co} channels in {groups} groups, {h}x{w} input, {kh}x{kw} kernel",
                (rand(ci, h, w), rand(co, ci // groups, kh, kw), groups),
            )
        )
    return cases


register(
    Exercise(
        name="conv_transpose2d",
        signature="conv_transpose2d(X, K, stride=1)",
        notebook="solutions/06_conv_variants.ipynb",
        reference=conv_transpose2d_reference,
        public_cases=(
            Case(
                "2x2 input, 2x2 kernel",
                (torch.tensor([[0.0, 1.0], [2.0, 3.0]]), torch.tensor([[0.0, 1.0], [2.0, 3.0]])),
            ),
            Case(
                "2x2 input, 2x2 kernel, stride 2",
                (torch.tensor([[0.0, 1.0], [2.0, 3.0]]), torch.tensor([[0.0, 1.0], [2.0, 3.0]])),
                {"stride": 2},
            ),
            Case("3x4 input, 2x3 kernel", (_rand(3, 4), _rand(2, 3))),
        ),
        hidden_cases=conv_transpose2d_hidden,
        allowed="indexing and slicing (add K times each input value into the output)",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=conv_transpose_mistakes(),
    )
)

register(
    Exercise(
        name="grouped_conv2d",
        signature="grouped_conv2d(X, K, groups)",
        notebook="solutions/06_conv_variants.ipynb",
        reference=grouped_conv2d_reference,
        public_cases=(
            Case(
                "4 -> 2 channels in 2 groups, 2x2 kernel",
                (torch.arange(36.0).reshape(4, 3, 3), torch.ones(2, 2, 2, 2), 2),
            ),
            Case("depthwise on 3 channels", (_rand(3, 5, 5), _rand(3, 1, 3, 3), 3)),
            Case("6 -> 4 channels in 2 groups, 2x3 kernel", (_rand(6, 4, 5), _rand(4, 3, 2, 3), 2)),
        ),
        hidden_cases=grouped_conv2d_hidden,
        allowed=CONV_POOL_ALLOWED + ", and your own corr2d_multi_in_out per group",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=grouped_mistakes(),
        course_helpers=("corr2d", "corr2d_multi_in", "corr2d_multi_in_out"),
    )
)
