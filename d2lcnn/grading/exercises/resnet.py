"""Exercises of the chapter "Residual networks (ResNet)" (solutions/13_resnet.ipynb)."""

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from ..modules import ModuleCase
from ..registry import Case, Exercise, register
from .common import BLOCK_ALLOWED, BLOCK_FORBIDDEN, block_case, randint


def resnet_stage_shape_reference(
    input_shape: Sequence[int], num_channels: int, num_residuals: int, first_block: bool = False
) -> tuple[int, ...]:
    """The output shape of a ResNet stage, by running its convolutions on shape-only tensors."""
    X = torch.empty(tuple(input_shape), device="meta")  # (batch, channels, h, w), no data

    def conv(X: torch.Tensor, kernel_size: int, stride: int, padding: int) -> torch.Tensor:
        K = torch.empty(num_channels, X.shape[1], kernel_size, kernel_size, device="meta")
        return F.conv2d(X, K, stride=stride, padding=padding)

    for i in range(num_residuals):
        stride = 2 if i == 0 and not first_block else 1
        Y = conv(conv(X, 3, stride, 1), 3, 1, 1)
        shortcut = conv(X, 1, stride, 0) if stride == 2 else X
        X = Y + shortcut  # fails, as the network would, if the two paths disagree
    return tuple(X.shape)


def resnet_stage_shape_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("a single residual block that halves 2x2", ((3, 8, 2, 2), 16, 1, False)),
        Case("1x1 input stays 1x1", ((1, 32, 1, 1), 64, 2, False)),
        Case("first block, many residuals", ((2, 16, 9, 9), 16, 5, True)),
        Case("first_block passed by keyword", ((1, 8, 10, 6), 8, 1), {"first_block": True}),
    ]
    for i in range(5):
        n, c, num_residuals = (int(v) for v in torch.randint(1, 5, (3,), generator=gen))
        h, w = (int(v) for v in torch.randint(1, 40, (2,), generator=gen))
        first_block = i % 2 == 0
        channels = c * 8 if first_block else c * 16
        cases.append(
            Case(f"random stage #{i + 1}", ((n, c * 8, h, w), channels, num_residuals, first_block))
        )
    return cases


register(
    Exercise(
        name="resnet_stage_shape",
        signature="resnet_stage_shape(input_shape, num_channels, num_residuals, first_block=False)",
        notebook="solutions/13_resnet.ipynb",
        reference=resnet_stage_shape_reference,
        public_cases=(
            Case("stage b2 of ResNet-18 at 96x96", ((1, 64, 24, 24), 64, 2, True)),
            Case("stage b3 of ResNet-18 at 96x96", ((1, 64, 24, 24), 128, 2, False)),
            Case("odd height and width", ((2, 128, 7, 5), 256, 2, False)),
        ),
        hidden_cases=resnet_stage_shape_hidden,
        allowed="arithmetic on the arguments",
        forbidden=(),
    )
)


# ---- the residual block and the bottleneck block ----------------------------------------


class ResidualReference(nn.Module):
    """conv3x3 (stride) - BN - ReLU - conv3x3 - BN, plus the shortcut (1x1 conv if asked), ReLU.

    ``relu_before_add``, ``shortcut_conv`` (False: ignore ``use_1x1conv``), ``stride_on``
    (``"conv2"``: the stride on the wrong convolution) and ``last_relu`` make the known mistakes.
    """

    def __init__(
        self,
        input_channels: int,
        num_channels: int,
        use_1x1conv: bool = False,
        strides: int = 1,
        relu_before_add: bool = False,
        shortcut_conv: bool = True,
        stride_on: str = "conv1",
        last_relu: bool = True,
    ) -> None:
        super().__init__()
        s1, s2 = (strides, 1) if stride_on == "conv1" else (1, strides)
        self.conv1 = nn.Conv2d(input_channels, num_channels, 3, padding=1, stride=s1)
        self.conv2 = nn.Conv2d(num_channels, num_channels, 3, padding=1, stride=s2)
        self.bn1, self.bn2 = nn.BatchNorm2d(num_channels), nn.BatchNorm2d(num_channels)
        self.conv3 = None
        if use_1x1conv and shortcut_conv:
            self.conv3 = nn.Conv2d(input_channels, num_channels, 1, stride=strides)
        self.relu_before_add, self.last_relu = relu_before_add, last_relu

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(X)))))
        if self.relu_before_add:
            Y = F.relu(Y)
        Y = Y + (X if self.conv3 is None else self.conv3(X))
        return F.relu(Y) if self.last_relu else Y


def _res(
    label: str, args: tuple, shapes: list, gen: torch.Generator, kwargs: dict | None = None
) -> ModuleCase:
    return block_case(label, args, shapes, gen, kwargs, modes=("train", "eval"))


def residual_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        _res(
            "1x1 shortcut that keeps the shape", (3, 3), [(2, 3, 5, 5)], gen, {"use_1x1conv": True}
        ),
        _res(
            "1x1 shortcut, stride 2, odd input",
            (2, 4),
            [(2, 2, 7, 5)],
            gen,
            {"use_1x1conv": True, "strides": 2},
        ),
        _res("stride 3", (2, 3), [(2, 2, 7, 7)], gen, {"use_1x1conv": True, "strides": 3}),
        _res("arguments by position", (2, 5, True, 2), [(3, 2, 4, 6)], gen),
        _res("identity shortcut, one channel", (1, 1), [(4, 1, 3, 3)], gen),
    ]
    for i in range(4):
        c = randint(gen, 1, 6)
        if i % 2:
            args, kwargs = (c, c), {}
        else:
            args, kwargs = (
                (c, randint(gen, 1, 8)),
                {"use_1x1conv": True, "strides": randint(gen, 1, 3)},
            )
        shape = (randint(gen, 2, 5), c, randint(gen, 2, 9), randint(gen, 2, 9))
        cases.append(_res(f"random block #{i + 1}", args, [shape], gen, kwargs))
    return cases


class BottleneckReference(nn.Module):
    """1x1 to channels // 4, 3x3, 1x1 back, each with BN (ReLU after the first two), plus x, ReLU."""

    def __init__(self, channels: int, relu_before_add: bool = False, last_bn: bool = True) -> None:
        super().__init__()
        inner = channels // 4
        self.body = nn.Sequential(
            nn.Conv2d(channels, inner, kernel_size=1),
            nn.BatchNorm2d(inner),
            nn.ReLU(),
            nn.Conv2d(inner, inner, kernel_size=3, padding=1),
            nn.BatchNorm2d(inner),
            nn.ReLU(),
            nn.Conv2d(inner, channels, kernel_size=1),
            nn.BatchNorm2d(channels) if last_bn else nn.Identity(),
        )
        self.relu_before_add = relu_before_add

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y = self.body(X)
        return F.relu((F.relu(Y) if self.relu_before_add else Y) + X)


def bottleneck_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        _res("the smallest block, 4 channels", (4,), [(2, 4, 3, 3)], gen),
        _res("1x1 input", (8,), [(3, 8, 1, 1)], gen),
        _res("non-square input", (12,), [(2, 12, 3, 7)], gen),
        _res("channels not a multiple of 4", (10,), [(2, 10, 4, 4)], gen),
        _res("batch of two", (16,), [(2, 16, 2, 2)], gen),
    ]
    for i in range(4):
        channels = 4 * randint(gen, 1, 7)
        shape = (randint(gen, 2, 5), channels, randint(gen, 1, 7), randint(gen, 1, 7))
        cases.append(_res(f"random block #{i + 1}", (channels,), [shape], gen))
    return cases


_PUBLIC = torch.Generator().manual_seed(13)
register(
    Exercise(
        name="Residual",
        signature="Residual(input_channels, num_channels, use_1x1conv=False, strides=1)",
        notebook="solutions/13_resnet.ipynb",
        reference=ResidualReference,
        public_cases=(
            _res("Residual(3, 3) on (4, 3, 6, 6)", (3, 3), [(4, 3, 6, 6)], _PUBLIC),
            _res(
                "Residual(3, 6, use_1x1conv=True, strides=2) on (4, 3, 6, 6)",
                (3, 6),
                [(4, 3, 6, 6)],
                _PUBLIC,
                {"use_1x1conv": True, "strides": 2},
            ),
        ),
        hidden_cases=residual_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        atol=1e-4,
        mistakes={
            "relu before add": (
                partial(ResidualReference, relu_before_add=True),
                "Your block applies a ReLU before adding the shortcut: the sum "
                "bn2(conv2(...)) + shortcut comes first, then the one ReLU.",
            ),
            "no 1x1 shortcut": (
                partial(ResidualReference, shortcut_conv=False),
                "Your block ignores use_1x1conv: with use_1x1conv=True the shortcut goes "
                "through a 1x1 convolution (with the block's stride).",
            ),
            "stride on conv2": (
                partial(ResidualReference, stride_on="conv2"),
                "Your block puts the stride on the second 3x3 convolution: the first one "
                "(and the 1x1 shortcut) has stride `strides`, the second stride 1.",
            ),
            "no last relu": (
                partial(ResidualReference, last_relu=False),
                "Your block returns the sum without the last ReLU: relu(Y + shortcut).",
            ),
        },
    )
)

register(
    Exercise(
        name="Bottleneck",
        signature="Bottleneck(channels)",
        notebook="solutions/13_resnet.ipynb",
        reference=BottleneckReference,
        public_cases=(
            _res("Bottleneck(8) on (2, 8, 5, 5)", (8,), [(2, 8, 5, 5)], _PUBLIC),
            _res("Bottleneck(16) on (3, 16, 4, 6)", (16,), [(3, 16, 4, 6)], _PUBLIC),
        ),
        hidden_cases=bottleneck_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        atol=1e-4,
        mistakes={
            "relu before add": (
                partial(BottleneckReference, relu_before_add=True),
                "Your block applies a ReLU before adding the input: add first, then ReLU.",
            ),
            "no last batch norm": (
                partial(BottleneckReference, last_bn=False),
                "Your last 1x1 convolution has no batch normalization after it.",
            ),
        },
    )
)
