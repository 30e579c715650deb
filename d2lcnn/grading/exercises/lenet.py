"""Exercises of the chapter "LeNet" (solutions/07_lenet.ipynb)."""

import torch
from torch.nn import functional as F

from ..registry import Case, Exercise, register
from .common import CONV_POOL_FORBIDDEN


def lenet_flat_features_reference(h: int, w: int) -> int:
    """Inputs of LeNet's first dense layer for (h, w) images.

    Runs LeNet's encoder (conv 5x5 pad 2, avg pool 2/2, conv 5x5, avg pool 2/2,
    16 channels) on a shape-only (meta) tensor, so the count comes from torch's
    own shape rules.
    """
    X = torch.empty(1, 1, h, w, device="meta")  # (batch, channels, h, w), no data
    X = F.avg_pool2d(F.conv2d(X, torch.empty(6, 1, 5, 5, device="meta"), padding=2), 2, 2)
    X = F.avg_pool2d(F.conv2d(X, torch.empty(16, 6, 5, 5, device="meta")), 2, 2)
    return X[0].numel()


def lenet_flat_features_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("the smallest input, 12x12", (12, 12)),
        Case("odd sizes, 13x15", (13, 15)),
        Case("a tall image", (100, 12)),
        Case("a large image", (512, 384)),
    ]
    for h, w in torch.randint(12, 300, (4, 2), generator=gen).tolist():
        cases.append(Case(f"random {h}x{w} input", (h, w)))
    return cases


register(
    Exercise(
        name="lenet_flat_features",
        signature="lenet_flat_features(h, w)",
        notebook="solutions/07_lenet.ipynb",
        reference=lenet_flat_features_reference,
        public_cases=(
            Case("Fashion-MNIST's 28x28", (28, 28)),
            Case("the original LeNet's 32x32", (32, 32)),
            Case("a non-square 20x36 input", (20, 36)),
        ),
        hidden_cases=lenet_flat_features_hidden,
        allowed="arithmetic on the arguments (each layer's output-size formula)",
        # Running the layers (or LeNet itself) on a dummy input would answer without the arithmetic.
        forbidden=CONV_POOL_FORBIDDEN
        + (
            "torch.*pool*",
            "d2lcnn.lenet",
            "d2lcnn.*.lenet",
            "d2lcnn.layer_summary",
            "d2lcnn.*.layer_summary",
        ),
    )
)
