"""Exercises of the chapter "Convolutions for images" (solutions/02_conv_layer.ipynb)."""

import torch

from ..registry import Case, Exercise, register
from ..stand_in import corr2d_reference
from .common import BOOK_K, BOOK_X, CONV_POOL_ALLOWED, CONV_POOL_FORBIDDEN
from .mistaken import corr, corr2d_mistakes, f64


def corr2d_hidden(gen: torch.Generator) -> list[Case]:
    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen)

    cases = [
        Case("1x1 kernel", (rand(4, 5), rand(1, 1))),
        Case("kernel as large as the input", (rand(3, 4), rand(3, 4))),
        Case("tall kernel on a wide input", (rand(3, 9), rand(3, 1))),
        Case("fractional and negative values", (rand(5, 5) * 0.37 - 0.5, rand(2, 3) * -1.5)),
    ]
    for _ in range(4):
        h, w = (int(v) for v in torch.randint(2, 12, (2,), generator=gen))
        kh, kw = (int(torch.randint(1, d + 1, (1,), generator=gen)) for d in (h, w))
        cases.append(Case(f"random {h}x{w} input, {kh}x{kw} kernel", (rand(h, w), rand(kh, kw))))
    return cases


# The book's worked examples, public in every cross-correlation exercise.
BOOK_EXAMPLE = Case(
    "the 3x3 example with a 2x2 kernel",
    (BOOK_X, BOOK_K),
)
EDGE_EXAMPLE = Case(
    "edge kernel [1, -1] on a 6x8 image",
    (torch.ones(6, 8).index_fill_(1, torch.arange(2, 6), 0.0), torch.tensor([[1.0, -1.0]])),
)


register(
    Exercise(
        name="corr2d",
        signature="corr2d(X, K)",
        notebook="solutions/02_conv_layer.ipynb",
        reference=corr2d_reference,
        public_cases=(
            BOOK_EXAMPLE,
            EDGE_EXAMPLE,
            Case(
                "non-square kernel",
                (torch.arange(20.0).reshape(4, 5), torch.tensor([[1.0], [-2.0]])),
            ),
        ),
        hidden_cases=corr2d_hidden,
        allowed=CONV_POOL_ALLOWED,
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=corr2d_mistakes(),
    )
)


def conv2d_true_reference(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """2-D convolution in the mathematical sense: cross-correlation with K flipped in both axes."""
    K = torch.as_tensor(K, dtype=torch.float64)
    return corr2d_reference(X, K.flip(0, 1))


register(
    Exercise(
        name="conv2d_true",
        signature="conv2d_true(X, K)",
        notebook="solutions/02_conv_layer.ipynb",
        reference=conv2d_true_reference,
        public_cases=(
            BOOK_EXAMPLE,
            EDGE_EXAMPLE,
            Case(
                "non-square kernel",
                (torch.arange(20.0).reshape(4, 5), torch.tensor([[1.0, 0.5], [-2.0, 0.0]])),
            ),
        ),
        hidden_cases=corr2d_hidden,
        allowed=CONV_POOL_ALLOWED + ", and flipping the kernel (K.flip)",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes={
            "no flip": (
                lambda X, K: corr(X, K),
                "Your output is a cross-correlation: a convolution flips the kernel in both "
                "axes first (K.flip(0, 1)).",
            ),
            "flipped along the height only": (
                lambda X, K: corr(X, f64(K).flip(0)),
                "Your kernel is flipped along the height only: flip both axes (K.flip(0, 1)).",
            ),
            "flipped along the width only": (
                lambda X, K: corr(X, f64(K).flip(1)),
                "Your kernel is flipped along the width only: flip both axes (K.flip(0, 1)).",
            ),
            "kernel transposed": (
                lambda X, K: corr(X, f64(K).T),
                "Your kernel is transposed (K.T), not flipped: a convolution flips it in both "
                "axes (K.flip(0, 1)).",
            ),
        },
    )
)


register(
    Exercise(
        name="corr2d_vec",
        signature="corr2d_vec(X, K)",
        notebook="solutions/02_conv_layer.ipynb",
        reference=corr2d_reference,
        public_cases=(
            BOOK_EXAMPLE,
            Case(
                "non-square kernel",
                (torch.arange(20.0).reshape(4, 5), torch.tensor([[1.0], [-2.0]])),
            ),
            Case(
                "a 3x3 kernel on a 32x32 input",
                (torch.linspace(-1, 1, 1024).reshape(32, 32), torch.arange(9.0).reshape(3, 3) - 4),
            ),
        ),
        hidden_cases=corr2d_hidden,
        allowed="Tensor.unfold (or indexing) and one einsum or matmul, without a Python loop over output positions",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=corr2d_mistakes(),
    )
)
