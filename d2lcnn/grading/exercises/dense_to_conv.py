"""Exercises of the chapter "From fully connected layers to convolutions" (solutions/01_dense_to_conv.ipynb)."""

import torch
from torch import nn
from torch.nn import functional as F

from ..registry import Case, Exercise, register
from .common import CONV_POOL_FORBIDDEN, randint, randn
from .mistaken import conv1d_mistakes, conv_matrix_mistakes

NOTEBOOK = "solutions/01_dense_to_conv.ipynb"


# --- conv_params(c_in, c_out, kernel_size, bias=True) -------------------------------------


def conv_params_reference(
    c_in: int, c_out: int, kernel_size: int | tuple[int, int], bias: bool = True
) -> int:
    """Learnable parameters of ``nn.Conv2d``, counted on the meta device (no memory used)."""
    layer = nn.Conv2d(c_in, c_out, kernel_size, bias=bias, device="meta")
    return sum(p.numel() for p in layer.parameters())


def conv_params_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("1x1 kernel, no bias", (16, 32, 1), {"bias": False}),
        Case("non-square kernel as a pair", (2, 5, (1, 7))),
        Case("a kernel as large as a megapixel image", (1, 1, (1000, 1000))),
        Case("many channels, 11x11 kernel", (1000, 1000, 11)),
    ]
    for _ in range(3):
        c_in, c_out = randint(gen, 1, 130), randint(gen, 1, 130)
        kh, kw = randint(gen, 1, 8), randint(gen, 1, 8)
        bias = bool(randint(gen, 0, 2))
        cases.append(
            Case(
                f"random {c_in}->{c_out} channels, {kh}x{kw} kernel, bias={bias}",
                (c_in, c_out, (kh, kw)),
                {"bias": bias},
            )
        )
    return cases


register(
    Exercise(
        name="conv_params",
        signature="conv_params(c_in, c_out, kernel_size, bias=True)",
        notebook=NOTEBOOK,
        reference=conv_params_reference,
        public_cases=(
            Case("one channel, 3x3 kernel", (1, 1, 3)),
            Case("RGB in, 64 channels out, 3x3 kernel", (3, 64, (3, 3))),
            Case("no bias, 5x5 kernel", (6, 16, 5), {"bias": False}),
        ),
        hidden_cases=conv_params_hidden,
        allowed="arithmetic on the arguments",
    )
)


# --- conv_matrix(K, h, w) -----------------------------------------------------------------


def conv_matrix_reference(K: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The matrix of cross-correlation with K on (h, w) inputs: its columns are the
    outputs for the h*w one-hot input images."""
    K = torch.as_tensor(K, dtype=torch.float64)
    basis = torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)
    Y = F.conv2d(basis, K[None, None])  # (h*w, 1, oh, ow)
    return Y.reshape(h * w, -1).T  # (oh*ow, h*w)


def conv_matrix_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("1x1 kernel: a scaled identity", (randn(gen)(1, 1), 3, 4)),
        Case("kernel as large as the input: one row", (randn(gen)(3, 4), 3, 4)),
        Case("tall kernel on a wide input", (randn(gen)(3, 1), 3, 7)),
        Case("fractional and negative values", (randn(gen)(2, 3) * 0.37 - 0.5, 4, 5)),
    ]
    for _ in range(3):
        h, w = randint(gen, 2, 9), randint(gen, 2, 9)
        kh, kw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
        cases.append(Case(f"random {kh}x{kw} kernel on {h}x{w} inputs", (randn(gen)(kh, kw), h, w)))
    return cases


register(
    Exercise(
        name="conv_matrix",
        signature="conv_matrix(K, h, w)",
        notebook=NOTEBOOK,
        reference=conv_matrix_reference,
        public_cases=(
            Case("[1, -1] on 2x3 inputs", (torch.tensor([[1.0, -1.0]]), 2, 3)),
            Case("2x2 kernel on 3x3 inputs", (torch.tensor([[0.0, 1.0], [2.0, 3.0]]), 3, 3)),
            Case("3x3 kernel on 4x5 inputs", (torch.arange(9.0).reshape(3, 3) - 4, 4, 5)),
        ),
        hidden_cases=conv_matrix_hidden,
        allowed="indexing and slicing to place the kernel's values in the matrix",
        mistakes=conv_matrix_mistakes(),
    )
)


# --- conv1d_true(x, k) --------------------------------------------------------------------


def conv1d_true_reference(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Full 1-D convolution: cross-correlation with the flipped kernel, zero-padded by m - 1."""
    x, k = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(k, dtype=torch.float64)
    m = k.shape[0]
    return F.conv1d(x[None, None], k.flip(0)[None, None], padding=m - 1)[0, 0]  # (n + m - 1,)


def conv1d_true_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        Case("length-1 kernel", (randn(gen)(6), randn(gen)(1))),
        Case("length-1 signal", (randn(gen)(1), randn(gen)(4))),
        Case("kernel longer than the signal", (randn(gen)(3), randn(gen)(7))),
        Case("fractional and negative values", (randn(gen)(9) * 0.37 - 0.5, -1.5 * randn(gen)(3))),
    ]
    for _ in range(3):
        n, m = randint(gen, 1, 20), randint(gen, 1, 8)
        cases.append(Case(f"random signal of {n}, kernel of {m}", (randn(gen)(n), randn(gen)(m))))
    return cases


register(
    Exercise(
        name="conv1d_true",
        signature="conv1d_true(x, k)",
        notebook=NOTEBOOK,
        reference=conv1d_true_reference,
        public_cases=(
            Case(
                "[1, 2, 3] * [0, 1, 0.5]",
                (torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.0, 1.0, 0.5])),
            ),
            Case("moving sum of 2", (torch.arange(5.0), torch.tensor([1.0, 1.0]))),
            Case(
                "asymmetric kernel", (torch.tensor([1.0, -1.0, 2.0, 0.5]), torch.tensor([1.0, 2.0]))
            ),
        ),
        hidden_cases=conv1d_true_hidden,
        allowed="indexing, slicing, flipping and sums over 1-D tensors",
        forbidden=CONV_POOL_FORBIDDEN,
        mistakes=conv1d_mistakes(),
    )
)
