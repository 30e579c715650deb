"""Exercises of the chapter "AlexNet" (solutions/08_alexnet.ipynb)."""

import torch
from torch.nn import functional as F

from ..registry import Case, Exercise, register
from .common import CONV_POOL_FORBIDDEN


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
