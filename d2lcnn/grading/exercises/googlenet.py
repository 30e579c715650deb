"""Exercises of the chapter "GoogLeNet" (solutions/11_googlenet.ipynb)."""

from collections.abc import Sequence

import torch
from torch import nn

from ..registry import Case, Exercise, register


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
