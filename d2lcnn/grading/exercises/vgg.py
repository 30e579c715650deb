"""Exercises of the chapter "VGG" (solutions/09_vgg.ipynb)."""

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn

from ..modules import ModuleCase
from ..registry import Case, Exercise, register
from .common import BLOCK_ALLOWED, BLOCK_FORBIDDEN, block_case, randint

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


# ---- the VGG block -------------------------------------------------------------------


def vgg_block_reference(
    num_convs: int,
    in_channels: int,
    out_channels: int,
    padding: int = 1,
    pool: bool = True,
    pool_stride: int = 2,
) -> nn.Module:
    """``num_convs`` 3x3 convolutions (padding 1) with ReLU, then 2x2 max pooling, stride 2.

    ``padding``, ``pool`` and ``pool_stride`` make the known mistakes.
    """
    layers: list[nn.Module] = []
    for i in range(num_convs):
        c_in = in_channels if i == 0 else out_channels
        layers += [nn.Conv2d(c_in, out_channels, 3, padding=padding), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(kernel_size=2, stride=pool_stride))
    return nn.Sequential(*layers)


def vgg_block_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        block_case("one convolution", (1, 3, 4), [(2, 3, 8, 8)], gen),
        block_case("three convolutions", (3, 2, 5), [(2, 2, 6, 6)], gen),
        block_case(
            "odd height and width (the pooling drops the last row)", (2, 3, 4), [(2, 3, 7, 9)], gen
        ),
        block_case("2x2 input, one output pixel", (1, 4, 6), [(3, 4, 2, 2)], gen),
        block_case("fewer output channels than input", (2, 8, 3), [(1, 8, 6, 4)], gen),
    ]
    for i in range(4):
        args = (randint(gen, 1, 4), randint(gen, 1, 7), randint(gen, 1, 9))
        shape = (randint(gen, 1, 4), args[1], randint(gen, 2, 11), randint(gen, 2, 11))
        cases.append(block_case(f"random block #{i + 1}", args, [shape], gen))
    return cases


_PUBLIC = torch.Generator().manual_seed(9)
register(
    Exercise(
        name="vgg_block",
        signature="vgg_block(num_convs, in_channels, out_channels)",
        notebook="solutions/09_vgg.ipynb",
        reference=vgg_block_reference,
        public_cases=(
            block_case("vgg_block(2, 3, 8) on (2, 3, 8, 8)", (2, 3, 8), [(2, 3, 8, 8)], _PUBLIC),
            block_case("vgg_block(1, 1, 4) on (1, 1, 6, 10)", (1, 1, 4), [(1, 1, 6, 10)], _PUBLIC),
        ),
        hidden_cases=vgg_block_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        mistakes={
            "no pooling": (
                partial(vgg_block_reference, pool=False),
                "Your block computes vgg_block without its max pooling: it must end with "
                "nn.MaxPool2d(kernel_size=2, stride=2), which halves height and width.",
            ),
            "no padding": (
                partial(vgg_block_reference, padding=0),
                "Your convolutions have no padding: with padding=1 a 3x3 convolution keeps "
                "the height and width.",
            ),
            "pooling stride 1": (
                partial(vgg_block_reference, pool_stride=1),
                "Your pooling has stride 1: VGG's 2x2 pooling moves by 2 (stride=2), so it "
                "halves the height and width.",
            ),
        },
    )
)
