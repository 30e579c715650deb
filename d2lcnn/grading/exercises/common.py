"""What several chapters' exercises share: case helpers, the book's examples, forbidden lists."""

from collections.abc import Callable

import torch

from ..modules import ModuleCase

# Library primitives that the convolution and pooling exercises exist to teach:
# fnmatch patterns of dotted names, checked in the submission's code (aliases
# resolved) and by tripwires during the call. Tensor.unfold (a strided view),
# einsum, matmul and reductions stay allowed.
CONV_POOL_FORBIDDEN = (
    "torch.nn.functional.conv*",
    "torch.nn.functional.conv_transpose*",
    "torch.nn.functional.*pool*",
    "torch.nn.functional.unfold",
    "torch.nn.functional.fold",
    "torch.conv*",
    "torch.nn.Conv*",
    "torch.nn.*Pool*",
    "torch.nn.Unfold",
    "torch.nn.Fold",
    "scipy.signal.correlate*",
    "scipy.signal.convolve*",
    # the same primitives under other names
    "torch.*_pool*",
    "torch._convolution*",
    "torch.nn.LazyConv*",
    "torch.nn.modules.conv.*",
    "torch.nn.modules.pooling.*",
    "torch.nn.modules.fold.*",
    "torch._C._nn.*conv*",
    "torch._C._nn.*pool*",
    "torch._C._nn.im2col",
    "torch._C._nn.col2im",
    "torch._C._VariableFunctions.conv*",
    "torch._C._VariableFunctions.*convolution*",
    "torch._C._VariableFunctions.*_pool*",
    "torch.ops.aten.conv*",
    "torch.ops.aten.*convolution*",
    "torch.ops.aten.*_pool*",
    "torch.ops.aten.*conv_depthwise*",
    "torch.ops.aten.*slow_conv*",
    "torch.ops.aten.thnn_conv*",
    "torch.ops.aten.im2col*",
    "torch.ops.aten.col2im*",
    "scipy.signal.*correlate*",
    "scipy.signal.*convolve*",
    "scipy.ndimage.*",
    "numpy.*convolve*",
    "numpy.*correlate*",
    # every convolution and pooling operator, whatever its namespace (blocked at the dispatcher)
    "torch.ops.aten.*conv*",
    "torch.ops.aten.*pool*",
    # compilers that would generate the kernel's loops from the forbidden operator
    "torch.compile",
    "torch._dynamo*",
    "torch._inductor*",
)


# What the convolution and pooling exercises leave students to build with.
CONV_POOL_ALLOWED = "indexing, slicing, Tensor.unfold, einsum, matmul and reductions"

# The book's worked examples (section 6.2 onwards): a 3x3 input and a 2x2 kernel, ...
BOOK_X = torch.arange(9.0).reshape(3, 3)  # [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
BOOK_K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
# ... the same with a second channel, each plus one (section 6.4).
BOOK_MULTI_X = torch.stack((BOOK_X, BOOK_X + 1))  # (c_i=2, 3, 3)
BOOK_MULTI_K = torch.stack((BOOK_K, BOOK_K + 1))  # (c_i=2, 2, 2)


def randn(gen: torch.Generator) -> Callable[..., torch.Tensor]:
    """A ``torch.randn``-like function drawing from ``gen``, for hidden cases."""
    return lambda *shape: torch.randn(*shape, generator=gen)


def randint(gen: torch.Generator, low: int, high: int) -> int:
    """An int in ``[low, high)`` drawn from ``gen``."""
    return int(torch.randint(low, high, (1,), generator=gen))


# Block exercises build networks from torch's layers; what they may not use is a
# ready-made network: torchvision's models, or anything of the course package
# (its blocks are the answers).
BLOCK_FORBIDDEN = ("torchvision.models*", "timm*", "d2lcnn.*")
BLOCK_ALLOWED = (
    "torch's layers and functions (nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.ReLU, "
    "nn.MaxPool2d, nn.Sequential, torch.cat, F.relu, ...)"
)


def block_case(
    label: str,
    args: tuple,
    shapes: list,
    gen: torch.Generator,
    kwargs: dict | None = None,
    modes: tuple = ("train",),
    steps: bool = False,
) -> ModuleCase:
    """A module case: build ``fn(*args, **kwargs)``, probe it on inputs of ``shapes`` drawn from ``gen``.

    Example::

        >>> case = block_case("one image", (3, 8), [(1, 3, 6, 6)], torch.Generator().manual_seed(0))
        >>> case.inputs[0].shape
        torch.Size([1, 3, 6, 6])
    """
    inputs = tuple(torch.randn(*s, generator=gen) for s in shapes)
    return ModuleCase(
        label, tuple(args), dict(kwargs or {}), inputs=inputs, modes=tuple(modes), steps=steps
    )
