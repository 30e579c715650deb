"""Exercises of the chapter "GoogLeNet" (solutions/11_googlenet.ipynb)."""

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from ..modules import ModuleCase
from ..registry import Case, Exercise, register
from .common import BLOCK_ALLOWED, BLOCK_FORBIDDEN, block_case, randint


def inception_params_reference(
    in_channels: int, c1: int, c2: Sequence[int], c3: Sequence[int], c4: int
) -> int:
    """Parameter count of an Inception block, by building its six convolutions on meta.

    Path 1: 1x1; path 2: 1x1 then 3x3; path 3: 1x1 then 5x5; path 4: a max
    pooling (no parameters) then 1x1. Every convolution has a bias.
    """
    with torch.device("meta"):
        convs = [
            nn.Conv2d(in_channels, c1, 1),
            nn.Conv2d(in_channels, c2[0], 1),
            nn.Conv2d(c2[0], c2[1], 3, padding=1),
            nn.Conv2d(in_channels, c3[0], 1),
            nn.Conv2d(c3[0], c3[1], 5, padding=2),
            nn.Conv2d(in_channels, c4, 1),
        ]
    return sum(p.numel() for conv in convs for p in conv.parameters())


def inception_params_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("every path 1 channel wide", (1, 1, (1, 1), (1, 1), 1)),
        Case("the last block of GoogLeNet", (832, 384, (192, 384), (48, 128), 128)),
        Case("c2 and c3 given as lists", (64, 8, [16, 32], [4, 8], 8)),
    ]
    for i in range(5):
        c_in, c1, a, b, c, d, c4 = torch.randint(1, 300, (7,), generator=gen).tolist()
        cases.append(Case(f"random block #{i + 1}", (c_in, c1, (a, b), (c, d), c4)))
    return cases


register(
    Exercise(
        name="inception_params",
        signature="inception_params(in_channels, c1, c2, c3, c4)",
        notebook="solutions/11_googlenet.ipynb",
        reference=inception_params_reference,
        public_cases=(
            Case("the first Inception block (stage b3)", (192, 64, (96, 128), (16, 32), 32)),
            Case("the second Inception block (stage b3)", (256, 128, (128, 192), (32, 96), 64)),
            Case("the first block of stage b4", (480, 192, (96, 208), (16, 48), 64)),
        ),
        hidden_cases=inception_params_hidden,
        allowed="arithmetic on the arguments (weights and biases of each path)",
        # Building the block and summing p.numel() would answer without the formula.
        forbidden=("torch.nn.Conv*", "torch.nn.Lazy*", "torch.nn.modules.conv.*"),
    )
)


# ---- the Inception block -------------------------------------------------------------


class InceptionReference(nn.Module):
    """Four paths concatenated along the channels (1x1; 1x1, 3x3; 1x1, 5x5; pool, 1x1).

    ``order``, ``pool`` and ``inner_relu`` make the known mistakes.
    """

    def __init__(
        self,
        in_channels: int,
        c1: int,
        c2: Sequence[int],
        c3: Sequence[int],
        c4: int,
        order: tuple = (0, 1, 2, 3),
        pool: bool = True,
        inner_relu: bool = True,
    ) -> None:
        super().__init__()
        self.order, self.inner_relu = order, inner_relu
        self.p1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.p2 = nn.ModuleList(
            [nn.Conv2d(in_channels, c2[0], 1), nn.Conv2d(c2[0], c2[1], 3, padding=1)]
        )
        self.p3 = nn.ModuleList(
            [nn.Conv2d(in_channels, c3[0], 1), nn.Conv2d(c3[0], c3[1], 5, padding=2)]
        )
        self.pool = nn.MaxPool2d(3, stride=1, padding=1) if pool else nn.Identity()
        self.p4 = nn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        inner = F.relu if self.inner_relu else (lambda Y: Y)
        paths = (
            F.relu(self.p1(X)),
            F.relu(self.p2[1](inner(self.p2[0](X)))),
            F.relu(self.p3[1](inner(self.p3[0](X)))),
            F.relu(self.p4(self.pool(X))),
        )
        return torch.cat([paths[i] for i in self.order], dim=1)


def inception_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        block_case("one channel per path", (2, 1, (1, 1), (1, 1), 1), [(2, 2, 5, 5)], gen),
        block_case("1x1 input", (3, 2, (2, 3), (2, 4), 1), [(2, 3, 1, 1)], gen),
        block_case(
            "2x3 input (the 5x5 kernel overhangs)", (2, 3, (2, 2), (1, 3), 2), [(3, 2, 2, 3)], gen
        ),
        block_case("wide reductions", (2, 1, (6, 2), (5, 3), 4), [(1, 2, 6, 6)], gen),
        block_case("channel pairs as lists", (3, 2, [3, 4], [2, 5], 1), [(2, 3, 4, 7)], gen),
    ]
    for i in range(4):
        c2 = (randint(gen, 1, 5), randint(gen, 1, 6))
        c3 = (randint(gen, 1, 4), randint(gen, 1, 5))
        args = (randint(gen, 1, 6), randint(gen, 1, 6), c2, c3, randint(gen, 1, 5))
        shape = (randint(gen, 1, 4), args[0], randint(gen, 1, 9), randint(gen, 1, 9))
        cases.append(block_case(f"random block #{i + 1}", args, [shape], gen))
    return cases


_PUBLIC = torch.Generator().manual_seed(11)
register(
    Exercise(
        name="Inception",
        signature="Inception(in_channels, c1, c2, c3, c4, **kwargs)",
        notebook="solutions/11_googlenet.ipynb",
        reference=InceptionReference,
        public_cases=(
            block_case(
                "Inception(4, 2, (3, 4), (2, 3), 2) on (2, 4, 6, 6)",
                (4, 2, (3, 4), (2, 3), 2),
                [(2, 4, 6, 6)],
                _PUBLIC,
            ),
            block_case(
                "Inception(3, 5, (2, 1), (1, 2), 3) on (1, 3, 5, 8)",
                (3, 5, (2, 1), (1, 2), 3),
                [(1, 3, 5, 8)],
                _PUBLIC,
            ),
        ),
        hidden_cases=inception_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        mistakes={
            "no pooling": (
                partial(InceptionReference, pool=False),
                "Your fourth path has no max pooling: it is a 3x3 max pooling (stride 1, "
                "padding 1), then the 1x1 convolution.",
            ),
            "no inner relu": (
                partial(InceptionReference, inner_relu=False),
                "Paths 2 and 3 have no ReLU between their 1x1 reduction and the 3x3 / 5x5 "
                "convolution: every convolution is followed by a ReLU.",
            ),
            "path order": (
                partial(InceptionReference, order=(3, 2, 1, 0)),
                "Your block concatenates the paths in reverse order: torch.cat((p1, p2, p3, p4), "
                "dim=1), path 1 first.",
            ),
            "path order 2": (
                partial(InceptionReference, order=(0, 2, 1, 3)),
                "Your block concatenates the 5x5 path before the 3x3 path: the order is p1 "
                "(1x1), p2 (3x3), p3 (5x5), p4 (pooling).",
            ),
        },
    )
)
