"""Exercises of the chapter "Network in network (NiN)" (solutions/10_nin.ipynb)."""

from functools import partial

import torch
from torch import nn

from ..modules import ModuleCase
from ..registry import Case, Exercise, register
from .common import BLOCK_ALLOWED, BLOCK_FORBIDDEN, block_case, randint


def nin_block_params_reference(in_channels: int, out_channels: int, kernel_size: int) -> int:
    """Parameter count of a NiN block: one k x k convolution and two 1 x 1 ones.

    Builds the three convolutions on the meta device (no memory) and sums their sizes.
    """
    with torch.device("meta"):
        convs = [
            nn.Conv2d(in_channels, out_channels, kernel_size),
            nn.Conv2d(out_channels, out_channels, 1),
            nn.Conv2d(out_channels, out_channels, 1),
        ]
    return sum(p.numel() for conv in convs for p in conv.parameters())


def nin_block_params_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("1 channel in and out, 1x1 kernel", (1, 1, 1)),
        Case("more channels in than out", (384, 10, 3)),
        Case("a large kernel", (3, 16, 15)),
    ]
    for i in range(5):
        c_in, c_out = torch.randint(1, 513, (2,), generator=gen).tolist()
        k = int(torch.randint(1, 12, (1,), generator=gen))
        cases.append(Case(f"random block #{i + 1}", (c_in, c_out, k)))
    return cases


register(
    Exercise(
        name="nin_block_params",
        signature="nin_block_params(in_channels, out_channels, kernel_size)",
        notebook="solutions/10_nin.ipynb",
        reference=nin_block_params_reference,
        public_cases=(
            Case("the first block: 1 -> 96 channels, 11x11", (1, 96, 11)),
            Case("the second block: 96 -> 256 channels, 5x5", (96, 256, 5)),
            Case("the third block: 256 -> 384 channels, 3x3", (256, 384, 3)),
        ),
        hidden_cases=nin_block_params_hidden,
        allowed="arithmetic on the arguments",
        # Building the convolutions and summing p.numel() would answer without the formula.
        forbidden=("torch.nn.Conv*", "torch.nn.Lazy*", "torch.nn.modules.conv.*"),
    )
)


# ---- the NiN block -------------------------------------------------------------------


def nin_block_reference(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    strides: int,
    padding: int,
    last_relu: bool = True,
    strided_1x1: bool = False,
) -> nn.Module:
    """A convolution, then two 1x1 convolutions, each followed by ReLU.

    ``last_relu`` and ``strided_1x1`` make the known mistakes.
    """
    s = strides if strided_1x1 else 1
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1, stride=s),
        nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1, stride=s),
        nn.ReLU() if last_relu else nn.Identity(),
    )


def _nin(
    label: str, args: tuple, shape: tuple, gen: torch.Generator, kwargs: dict | None = None
) -> ModuleCase:
    return block_case(label, args, [shape], gen, kwargs)


def nin_block_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        _nin("1x1 first kernel", (3, 5, 1, 1, 0), (2, 3, 5, 5), gen),
        _nin("stride 2, odd input", (2, 4, 3, 2, 1), (2, 2, 9, 7), gen),
        _nin("stride 3, no padding", (1, 3, 5, 3, 0), (1, 1, 11, 11), gen),
        _nin("padding larger than needed", (2, 3, 3, 1, 2), (2, 2, 4, 4), gen),
        _nin(
            "arguments by keyword",
            (4, 2),
            (2, 4, 6, 6),
            gen,
            {"kernel_size": 3, "strides": 1, "padding": 1},
        ),
    ]
    for i in range(4):
        k = randint(gen, 1, 5)
        args = (randint(gen, 1, 6), randint(gen, 1, 8), k, randint(gen, 1, 3), randint(gen, 0, k))
        shape = (randint(gen, 1, 4), args[0], randint(gen, k, 12), randint(gen, k, 12))
        cases.append(_nin(f"random block #{i + 1}", args, shape, gen))
    return cases


_PUBLIC = torch.Generator().manual_seed(10)
register(
    Exercise(
        name="nin_block",
        signature="nin_block(in_channels, out_channels, kernel_size, strides, padding)",
        notebook="solutions/10_nin.ipynb",
        reference=nin_block_reference,
        public_cases=(
            _nin(
                "nin_block(3, 8, 3, 1, 1) on (2, 3, 8, 8)", (3, 8, 3, 1, 1), (2, 3, 8, 8), _PUBLIC
            ),
            _nin(
                "nin_block(1, 4, 5, 2, 0) on (1, 1, 11, 9)", (1, 4, 5, 2, 0), (1, 1, 11, 9), _PUBLIC
            ),
        ),
        hidden_cases=nin_block_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        mistakes={
            "no last relu": (
                partial(nin_block_reference, last_relu=False),
                "Your block has no ReLU after its last 1x1 convolution: each of the three "
                "convolutions is followed by one.",
            ),
            "strided 1x1": (
                partial(nin_block_reference, strided_1x1=True),
                "Your 1x1 convolutions use the stride too: only the first convolution has "
                "`strides` and `padding`; the 1x1 ones have stride 1.",
            ),
        },
    )
)
