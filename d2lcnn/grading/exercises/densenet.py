"""Exercises of the chapter "Densely connected networks (DenseNet)" (solutions/14_densenet.ipynb)."""

from collections.abc import Sequence
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from ..modules import ModuleCase
from ..registry import Case, Exercise, register
from .common import BLOCK_ALLOWED, BLOCK_FORBIDDEN, block_case, randint


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


# ---- conv_block, DenseBlock, transition_block ------------------------------------------


def conv_block_reference(
    input_channels: int, num_channels: int, order: str = "pre", padding: int = 1
) -> nn.Module:
    """BN, ReLU, 3x3 convolution (padding 1); ``order="post"`` and ``padding`` make mistakes."""
    conv = nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=padding)
    if order == "post":
        return nn.Sequential(conv, nn.BatchNorm2d(num_channels), nn.ReLU())
    return nn.Sequential(nn.BatchNorm2d(input_channels), nn.ReLU(), conv)


class DenseBlockReference(nn.Module):
    """Conv block ``i`` reads ``input_channels + i * num_channels`` channels: all so far.

    ``keep`` (``"all"``, ``"new"``: only the last block's output) and ``first``
    (``"old"``; ``"new"``: concatenated the other way round) make the known mistakes.
    """

    def __init__(
        self,
        num_convs: int,
        input_channels: int,
        num_channels: int,
        keep: str = "all",
        first: str = "old",
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            conv_block_reference(input_channels + i * num_channels, num_channels)
            for i in range(num_convs)
        )
        self.keep, self.first = keep, first

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks:
            Y = blk(X)
            X = torch.cat((X, Y) if self.first == "old" else (Y, X), dim=1)
        return Y if self.keep == "new" else X


def transition_block_reference(
    input_channels: int,
    num_channels: int,
    pool: type[nn.Module] = nn.AvgPool2d,
    stride: int = 2,
) -> nn.Module:
    """BN, ReLU, 1x1 convolution, 2x2 average pooling with stride 2."""
    return nn.Sequential(
        nn.BatchNorm2d(input_channels),
        nn.ReLU(),
        nn.Conv2d(input_channels, num_channels, kernel_size=1),
        pool(kernel_size=2, stride=stride),
    )


def _dense(label: str, args: tuple, shape: tuple, gen: torch.Generator) -> ModuleCase:
    return block_case(label, args, [shape], gen, modes=("train", "eval"))


def conv_block_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        _dense("one channel in and out", (1, 1), (3, 1, 4, 4), gen),
        _dense("1x1 input", (3, 2), (2, 3, 1, 1), gen),
        _dense("non-square input", (2, 5), (2, 2, 3, 8), gen),
        _dense("fewer channels out than in", (6, 2), (2, 6, 5, 5), gen),
    ]
    for i in range(5):
        args = (randint(gen, 1, 8), randint(gen, 1, 8))
        shape = (randint(gen, 2, 5), args[0], randint(gen, 1, 9), randint(gen, 1, 9))
        cases.append(_dense(f"random block #{i + 1}", args, shape, gen))
    return cases


def dense_block_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        _dense("one conv block", (1, 3, 2), (2, 3, 5, 5), gen),
        _dense("four conv blocks", (4, 2, 3), (2, 2, 4, 4), gen),
        _dense("growth rate 1", (3, 2, 1), (3, 2, 3, 5), gen),
        _dense("1x1 input", (2, 4, 2), (2, 4, 1, 1), gen),
    ]
    for i in range(5):
        args = (randint(gen, 1, 4), randint(gen, 1, 6), randint(gen, 1, 5))
        shape = (randint(gen, 2, 4), args[1], randint(gen, 1, 7), randint(gen, 1, 7))
        cases.append(_dense(f"random block #{i + 1}", args, shape, gen))
    return cases


def transition_block_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        _dense("odd height and width (the pooling drops the last row)", (4, 2), (2, 4, 5, 7), gen),
        _dense("2x2 input, one output pixel", (3, 3), (3, 3, 2, 2), gen),
        _dense("more channels out than in", (2, 6), (2, 2, 4, 4), gen),
        _dense("one channel", (1, 1), (4, 1, 6, 6), gen),
    ]
    for i in range(5):
        args = (randint(gen, 1, 9), randint(gen, 1, 9))
        shape = (randint(gen, 2, 5), args[0], randint(gen, 2, 10), randint(gen, 2, 10))
        cases.append(_dense(f"random layer #{i + 1}", args, shape, gen))
    return cases


_PUBLIC = torch.Generator().manual_seed(14)
register(
    Exercise(
        name="conv_block",
        signature="conv_block(input_channels, num_channels)",
        notebook="solutions/14_densenet.ipynb",
        reference=conv_block_reference,
        public_cases=(
            _dense("conv_block(3, 10) on (4, 3, 8, 8)", (3, 10), (4, 3, 8, 8), _PUBLIC),
            _dense("conv_block(4, 4) on (2, 4, 5, 7)", (4, 4), (2, 4, 5, 7), _PUBLIC),
        ),
        hidden_cases=conv_block_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        atol=1e-4,
        mistakes={
            "conv first": (
                partial(conv_block_reference, order="post"),
                "Your block runs convolution, batch norm, ReLU: DenseNet's order is batch norm, "
                "ReLU, then the convolution (pre-activation).",
            ),
            "no padding": (
                partial(conv_block_reference, padding=0),
                "Your convolution has no padding: padding=1 keeps the height and width, so "
                "the output can be concatenated with the input.",
            ),
        },
    )
)

register(
    Exercise(
        name="DenseBlock",
        signature="DenseBlock(num_convs, input_channels, num_channels)",
        notebook="solutions/14_densenet.ipynb",
        reference=DenseBlockReference,
        public_cases=(
            _dense("DenseBlock(2, 3, 10) on (4, 3, 8, 8)", (2, 3, 10), (4, 3, 8, 8), _PUBLIC),
            _dense("DenseBlock(3, 2, 4) on (2, 2, 5, 6)", (3, 2, 4), (2, 2, 5, 6), _PUBLIC),
        ),
        hidden_cases=dense_block_hidden,
        allowed=BLOCK_ALLOWED + " and your conv_block",
        forbidden=BLOCK_FORBIDDEN,
        atol=1e-4,
        mistakes={
            "only new features": (
                partial(DenseBlockReference, keep="new"),
                "Your block returns only the last conv block's output: it returns the "
                "concatenation of the input and every conv block's output.",
            ),
            "reversed concatenation": (
                partial(DenseBlockReference, first="new"),
                "Your block puts each new output before what came so far: "
                "torch.cat((X, Y), dim=1) keeps the input's channels first.",
            ),
        },
    )
)

register(
    Exercise(
        name="transition_block",
        signature="transition_block(input_channels, num_channels)",
        notebook="solutions/14_densenet.ipynb",
        reference=transition_block_reference,
        public_cases=(
            _dense("transition_block(23, 10) on (4, 23, 8, 8)", (23, 10), (4, 23, 8, 8), _PUBLIC),
            _dense("transition_block(4, 2) on (2, 4, 7, 5)", (4, 2), (2, 4, 7, 5), _PUBLIC),
        ),
        hidden_cases=transition_block_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        atol=1e-4,
        mistakes={
            "max pooling": (
                partial(transition_block_reference, pool=nn.MaxPool2d),
                "Your transition layer uses max pooling: DenseNet's uses average pooling "
                "(nn.AvgPool2d(kernel_size=2, stride=2)).",
            ),
            "pooling stride 1": (
                partial(transition_block_reference, stride=1),
                "Your pooling has stride 1: with stride 2 the transition halves the height "
                "and width.",
            ),
        },
    )
)
