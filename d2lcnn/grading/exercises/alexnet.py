"""Exercises of the chapter "AlexNet" (solutions/08_alexnet.ipynb)."""

from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from ..modules import ModuleCase
from ..registry import Case, Exercise, register
from .common import BLOCK_ALLOWED, BLOCK_FORBIDDEN, CONV_POOL_FORBIDDEN, block_case, randint


def alexnet_output_size_reference(n: int) -> int:
    """Height (= width) of AlexNet's last feature map for an ``n x n`` input.

    Runs the feature extractor's convolutions and poolings on a shape-only
    (meta) tensor, so the size comes from torch's own shape rules.
    """
    X = torch.empty(1, 1, n, n, device="meta")  # (batch, channels, h, w), no data

    def conv(X: torch.Tensor, kernel_size: int, stride: int, padding: int) -> torch.Tensor:
        K = torch.empty(1, 1, kernel_size, kernel_size, device="meta")
        return F.conv2d(X, K, stride=stride, padding=padding)

    X = F.max_pool2d(conv(X, 11, 4, 1), 3, 2)
    X = F.max_pool2d(conv(X, 5, 1, 2), 3, 2)
    for _ in range(3):
        X = conv(X, 3, 1, 1)
    return F.max_pool2d(X, 3, 2).shape[-1]


def alexnet_output_size_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("the smallest input AlexNet accepts", (65,)),
        Case("one pixel more than the smallest", (66,)),
        Case("a 96x96 input", (96,)),
        Case("a large input", (1000,)),
    ]
    for n in torch.randint(65, 600, (4,), generator=gen).tolist():
        cases.append(Case(f"random {n}x{n} input", (n,)))
    return cases


register(
    Exercise(
        name="alexnet_output_size",
        signature="alexnet_output_size(n)",
        notebook="solutions/08_alexnet.ipynb",
        reference=alexnet_output_size_reference,
        public_cases=(
            Case("the book's 224x224 input", (224,)),
            Case("the original paper's 227x227 input", (227,)),
            Case("a 100x100 input", (100,)),
        ),
        hidden_cases=alexnet_output_size_hidden,
        allowed="arithmetic on the arguments (the output-size formula of each layer)",
        # Running the layers on a dummy input would answer without the arithmetic.
        forbidden=CONV_POOL_FORBIDDEN,
    )
)


# ---- the dense head ----------------------------------------------------------------


def alexnet_head_reference(
    num_inputs: int,
    num_hiddens: int,
    num_outputs: int,
    dropout: float = 0.5,
    act: type[nn.Module] = nn.ReLU,
    drop: bool = True,
    last_drop: bool = False,
) -> nn.Module:
    """AlexNet's classifier: two hidden dense layers with ReLU and dropout, then the outputs.

    ``act``, ``drop`` and ``last_drop`` make the known mistakes.
    """

    def dropout_layer() -> nn.Module:
        return nn.Dropout(dropout) if drop else nn.Identity()

    layers = [
        nn.Linear(num_inputs, num_hiddens),
        act(),
        dropout_layer(),
        nn.Linear(num_hiddens, num_hiddens),
        act(),
        dropout_layer(),
        nn.Linear(num_hiddens, num_outputs),
    ]
    return nn.Sequential(*layers, *([nn.Dropout(dropout)] if last_drop else []))


def _head(
    label: str, args: tuple, n: int, gen: torch.Generator, kwargs: dict | None = None
) -> ModuleCase:
    return block_case(label, args, [(n, args[0])], gen, kwargs, modes=("train", "eval"))


def alexnet_head_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        _head("one example", (16, 12, 3), 1, gen),
        _head("dropout 0: training equals prediction", (20, 16, 5), 4, gen, {"dropout": 0.0}),
        _head("heavy dropout", (12, 24, 4), 6, gen, {"dropout": 0.9}),
        _head("one output", (8, 8, 1), 3, gen),
        _head("dropout passed by position", (10, 6, 2, 0.3), 5, gen),
    ]
    for i in range(4):
        args = (randint(gen, 4, 40), randint(gen, 4, 40), randint(gen, 2, 12))
        p = round(float(torch.rand((), generator=gen)) * 0.8, 2)
        cases.append(_head(f"random head #{i + 1}", args, randint(gen, 2, 9), gen, {"dropout": p}))
    return cases


_PUBLIC = torch.Generator().manual_seed(8)
register(
    Exercise(
        name="alexnet_head",
        signature="alexnet_head(num_inputs, num_hiddens, num_outputs, dropout=0.5)",
        notebook="solutions/08_alexnet.ipynb",
        reference=alexnet_head_reference,
        public_cases=(
            _head("alexnet_head(64, 32, 10) on 4 examples", (64, 32, 10), 4, _PUBLIC),
            _head("dropout=0.2", (30, 20, 5), 8, _PUBLIC, {"dropout": 0.2}),
        ),
        hidden_cases=alexnet_head_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        mistakes={
            "no dropout": (
                partial(alexnet_head_reference, drop=False),
                "Your head has no dropout: in training mode each hidden layer's output goes "
                "through nn.Dropout(dropout).",
            ),
            "no relu": (
                partial(alexnet_head_reference, act=nn.Identity),
                "Your hidden layers have no ReLU: stacked linear layers are one linear map.",
            ),
            "dropout on the outputs": (
                partial(alexnet_head_reference, last_drop=True),
                "Your head drops out the class scores too: dropout follows the hidden layers only.",
            ),
        },
    )
)
