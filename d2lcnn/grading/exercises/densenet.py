"""Exercises of the chapter "Densely connected networks (DenseNet)" (solutions/14_densenet.ipynb)."""

from collections.abc import Sequence

import torch
from torch.nn import functional as F

from ..registry import Case, Exercise, register


def dense_block_channels_reference(num_convs: int, input_channels: int, growth_rate: int) -> int:
    """Channels out of a dense block, by concatenating shape-only tensors as the block does."""
    X = torch.empty(1, input_channels, 1, 1, device="meta")
    for _ in range(num_convs):
        Y = torch.empty(1, growth_rate, 1, 1, device="meta")  # one conv_block's output
        X = torch.cat((X, Y), dim=1)
    return X.shape[1]


def transition_shape_reference(input_shape: Sequence[int], num_channels: int) -> tuple[int, ...]:
    """Output shape of a transition block: 1x1 convolution, then 2x2 average pooling, stride 2."""
    X = torch.empty(tuple(input_shape), device="meta")  # (batch, channels, h, w)
    K = torch.empty(num_channels, X.shape[1], 1, 1, device="meta")
    return tuple(F.avg_pool2d(F.conv2d(X, K), kernel_size=2, stride=2).shape)


def dense_block_channels_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("no convolutions: the input passes through", (0, 17, 32)),
        Case("growth rate 1", (7, 3, 1)),
        Case("one convolution", (1, 64, 32)),
    ]
    for i in range(4):
        num_convs, input_channels, growth_rate = (
            int(v) for v in torch.randint(1, 65, (3,), generator=gen)
        )
        cases.append(Case(f"random block #{i + 1}", (num_convs % 9, input_channels, growth_rate)))
    return cases


def transition_shape_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("2x2 input becomes 1x1", ((1, 10, 2, 2), 5)),
        Case("odd sizes are floored", ((3, 9, 7, 5), 4)),
        Case("more output channels than input", ((2, 3, 8, 8), 12)),
    ]
    for i in range(4):
        n, c = (int(v) for v in torch.randint(1, 9, (2,), generator=gen))
        h, w = (int(v) for v in torch.randint(2, 50, (2,), generator=gen))
        cases.append(Case(f"random transition #{i + 1}", ((n, c * 16, h, w), c * 8)))
    return cases


register(
    Exercise(
        name="dense_block_channels",
        signature="dense_block_channels(num_convs, input_channels, growth_rate)",
        notebook="solutions/14_densenet.ipynb",
        reference=dense_block_channels_reference,
        public_cases=(
            Case("the book's small example: 2 convs, 3 inputs, 10 per conv", (2, 3, 10)),
            Case("DenseNet's first block: 4 convs, 64 inputs, growth 32", (4, 64, 32)),
        ),
        hidden_cases=dense_block_channels_hidden,
        allowed="arithmetic on the arguments",
        forbidden=(),
    )
)

register(
    Exercise(
        name="transition_shape",
        signature="transition_shape(input_shape, num_channels)",
        notebook="solutions/14_densenet.ipynb",
        reference=transition_shape_reference,
        public_cases=(
            Case("the book's small example: (4, 23, 8, 8) to 10 channels", ((4, 23, 8, 8), 10)),
            Case("DenseNet's first transition at 96x96", ((1, 192, 24, 24), 96)),
        ),
        hidden_cases=transition_shape_hidden,
        allowed="arithmetic on the arguments",
        forbidden=(),
    )
)
