"""Exercises of the chapter "VGG" (solutions/09_vgg.ipynb)."""

from collections.abc import Sequence

import torch
from torch import nn

from ..registry import Case, Exercise, register

VGG_ARCHS = {  # (num_convs, out_channels) per block, from the VGG paper's table 1
    "VGG-11": ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)),
    "VGG-13": ((2, 64), (2, 128), (2, 256), (2, 512), (2, 512)),
    "VGG-16": ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512)),
    "VGG-19": ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512)),
}


def vgg_params_reference(conv_arch: Sequence[tuple[int, int]], ratio: int = 1) -> int:
    """Parameter count of the book's 1-channel VGG for ``conv_arch`` with channels // ratio.

    Builds the layers on the meta device (no memory) and sums their sizes.
    """
    layers: list[nn.Module] = []
    in_channels = 1
    with torch.device("meta"):
        for num_convs, out_channels in conv_arch:
            for _ in range(num_convs):
                layers.append(nn.Conv2d(in_channels, out_channels // ratio, 3, padding=1))
                in_channels = out_channels // ratio
        layers += [nn.Linear(in_channels * 7 * 7, 4096), nn.Linear(4096, 4096), nn.Linear(4096, 10)]
    return sum(p.numel() for layer in layers for p in layer.parameters())


def vgg_params_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case(f"{name}, ratio {ratio}", (arch, ratio))
        for name, arch in VGG_ARCHS.items()
        for ratio in (1, 8)
        if name != "VGG-11"
    ]
    cases.append(Case("ratio passed by keyword", (VGG_ARCHS["VGG-13"],), {"ratio": 2}))
    cases.append(Case("ratio left at its default", (VGG_ARCHS["VGG-11"],)))
    for i in range(4):
        convs = torch.randint(1, 5, (5,), generator=gen).tolist()
        channels = (16 * torch.randint(1, 33, (5,), generator=gen)).tolist()
        ratio = [1, 2, 4, 8][i]
        cases.append(
            Case(
                f"random architecture #{i + 1}, ratio {ratio}", (tuple(zip(convs, channels)), ratio)
            )
        )
    return cases


register(
    Exercise(
        name="vgg_params",
        signature="vgg_params(conv_arch, ratio=1)",
        notebook="solutions/09_vgg.ipynb",
        reference=vgg_params_reference,
        public_cases=(
            Case("VGG-11 with channels / 4 (the network we train)", (VGG_ARCHS["VGG-11"], 4)),
            Case("VGG-11 at full width", (VGG_ARCHS["VGG-11"], 1)),
            Case("VGG-16 with channels / 2", (VGG_ARCHS["VGG-16"], 2)),
        ),
        hidden_cases=vgg_params_hidden,
        allowed="arithmetic on the arguments (weights and biases of each layer)",
        # Building the layers and summing p.numel() would answer without the formula.
        forbidden=(
            "torch.nn.Conv*",
            "torch.nn.Linear",
            "torch.nn.Lazy*",
            "torch.nn.modules.conv.*",
            "torch.nn.modules.linear.*",
        ),
    )
)
