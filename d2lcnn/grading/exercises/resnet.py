"""Exercises of the chapter "Residual networks (ResNet)" (solutions/13_resnet.ipynb)."""

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from ..registry import Case, Exercise, register


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
