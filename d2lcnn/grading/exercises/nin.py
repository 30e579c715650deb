"""Exercises of the chapter "Network in network (NiN)" (solutions/10_nin.ipynb)."""

import torch
from torch import nn

from ..registry import Case, Exercise, register


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
