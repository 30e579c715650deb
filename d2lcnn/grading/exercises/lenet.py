"""Exercises of the chapter "LeNet" (solutions/07_lenet.ipynb)."""

from dataclasses import replace
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from ..modules import ModuleCase
from ..registry import Case, Exercise, register
from .common import BLOCK_ALLOWED, BLOCK_FORBIDDEN, CONV_POOL_FORBIDDEN, block_case, randint


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


# ---- the network itself: lenet() and a ReLU variant ----------------------------------


def lenet_reference(
    act: type[nn.Module] = nn.Sigmoid,
    pool: type[nn.Module] = nn.AvgPool2d,
    dense_act: type[nn.Module] | None = None,
    padding: int = 2,
    widths: tuple = (6, 16, 120, 84),
) -> nn.Module:
    """The book's LeNet; the arguments make the variants (and the known mistakes)."""
    c1, c2, h1, h2 = widths
    dense_act = dense_act or act
    size = (28 + 2 * padding - 4) // 2 - 4  # after conv, pool, conv
    return nn.Sequential(
        nn.Conv2d(1, c1, kernel_size=5, padding=padding),
        act(),
        pool(kernel_size=2, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5),
        act(),
        pool(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(c2 * (size // 2) ** 2, h1),
        dense_act(),
        nn.Linear(h1, h2),
        dense_act(),
        nn.Linear(h2, 10),
    )


def lenet_relu_reference(c1: int = 6, c2: int = 16, h1: int = 120, h2: int = 84) -> nn.Module:
    """LeNet with ReLU and max pooling, conv widths ``c1, c2`` and dense widths ``h1, h2``."""
    return lenet_reference(nn.ReLU, nn.MaxPool2d, widths=(c1, c2, h1, h2))


def _images(label: str, n: int, gen: torch.Generator, scale: float = 1.0) -> ModuleCase:
    case = block_case(label, (), [(n, 1, 28, 28)], gen)
    return replace(case, inputs=tuple(scale * X for X in case.inputs))


def lenet_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        _images("one image", 1, gen),
        _images("bright images (large inputs)", 3, gen, scale=5.0),
        _images("dim images (small inputs)", 2, gen, scale=0.01),
        replace(_images("all-zero images", 2, gen), inputs=(torch.zeros(2, 1, 28, 28),)),
    ]
    cases += [_images(f"random batch #{i + 1}", randint(gen, 1, 6), gen) for i in range(5)]
    return cases


def lenet_relu_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        block_case("LeNet's own widths", (), [(3, 1, 28, 28)], gen),
        block_case("widths by keyword", (), [(2, 1, 28, 28)], gen, {"h1": 32, "c2": 8}),
        block_case("one channel everywhere", (1, 1, 1, 1), [(2, 1, 28, 28)], gen),
        block_case(
            "wide convolutions, narrow dense layers", (12, 24, 10, 10), [(2, 1, 28, 28)], gen
        ),
    ]
    for i in range(5):
        widths = (
            randint(gen, 2, 10),
            randint(gen, 2, 20),
            randint(gen, 8, 64),
            randint(gen, 8, 48),
        )
        cases.append(
            block_case(f"random widths #{i + 1}", widths, [(randint(gen, 1, 5), 1, 28, 28)], gen)
        )
    return cases


_PUBLIC = torch.Generator().manual_seed(7)
register(
    Exercise(
        name="lenet",
        signature="lenet()",
        notebook="solutions/07_lenet.ipynb",
        reference=lenet_reference,
        public_cases=(
            _images("a batch of 2 random 28x28 images", 2, _PUBLIC),
            _images("one image", 1, _PUBLIC),
        ),
        hidden_cases=lenet_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        mistakes={
            "max pooling": (
                partial(lenet_reference, pool=nn.MaxPool2d),
                "Your network computes LeNet with max pooling: the book's LeNet uses average "
                "pooling (nn.AvgPool2d).",
            ),
            "relu": (
                partial(lenet_reference, act=nn.ReLU),
                "Your network computes LeNet with ReLU: the book's LeNet uses sigmoids (nn.Sigmoid).",
            ),
            "no dense activations": (
                partial(lenet_reference, dense_act=nn.Identity),
                "Your dense layers have no sigmoid between them: three linear layers in a row "
                "are one linear map.",
            ),
            "no padding": (
                partial(lenet_reference, padding=0),
                "Your first convolution has no padding: LeNet pads by 2 so that its output "
                "stays 28x28 (and the first dense layer has 16 * 5 * 5 inputs).",
            ),
        },
    )
)

register(
    Exercise(
        name="lenet_relu",
        signature="lenet_relu(c1=6, c2=16, h1=120, h2=84)",
        notebook="solutions/07_lenet.ipynb",
        reference=lenet_relu_reference,
        public_cases=(
            block_case("lenet_relu() on 2 images", (), [(2, 1, 28, 28)], _PUBLIC),
            block_case("lenet_relu(4, 8, 32, 16)", (4, 8, 32, 16), [(3, 1, 28, 28)], _PUBLIC),
        ),
        hidden_cases=lenet_relu_hidden,
        allowed=BLOCK_ALLOWED,
        forbidden=BLOCK_FORBIDDEN,
        mistakes={
            "average pooling": (
                lambda c1=6, c2=16, h1=120, h2=84: lenet_reference(
                    nn.ReLU, nn.AvgPool2d, widths=(c1, c2, h1, h2)
                ),
                "Your network still uses average pooling: this variant uses max pooling "
                "(nn.MaxPool2d, same window and stride).",
            ),
            "sigmoid in the dense layers": (
                lambda c1=6, c2=16, h1=120, h2=84: lenet_reference(
                    nn.ReLU, nn.MaxPool2d, dense_act=nn.Sigmoid, widths=(c1, c2, h1, h2)
                ),
                "Your dense layers still use sigmoids: every activation becomes a ReLU.",
            ),
            "fixed widths": (
                lambda *args, **kwargs: lenet_relu_reference(),
                "Your network ignores the widths it is given: it always has LeNet's 6, 16, 120 "
                "and 84.",
            ),
        },
    )
)
