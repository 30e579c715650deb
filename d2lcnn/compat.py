"""The book's backend-neutral tensor names, so its PyTorch code runs with ``import d2lcnn as d2l``.

The book writes ``d2l.tensor(...)``, ``d2l.reduce_sum(X)``, ``d2l.reshape(X, shape)``
so that one text serves MXNet, PyTorch and TensorFlow; ``d2l.torch`` maps those
names to torch. These are the ones its PyTorch code uses in the CNN chapters,
re-exported with the same meaning: a torch function, or the ``torch.Tensor``
method that the book's ``lambda x, *args, **kwargs: x.method(*args, **kwargs)`` calls.

Example::

    >>> X = tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    >>> reduce_sum(X), size(X), reshape(X, (3, 2)).shape, transpose(X).shape
    (tensor(15.), 6, torch.Size([3, 2]), torch.Size([3, 2]))
    >>> reshape(arange(4, dtype=float32), (1, 1, 2, 2)).dtype
    torch.float32
"""

import torch

__all__ = [
    "abs",
    "arange",
    "concat",
    "float32",
    "matmul",
    "normal",
    "ones",
    "reduce_sum",
    "reshape",
    "size",
    "stack",
    "tensor",
    "transpose",
    "zeros",
]

# Plain torch functions and dtypes, as in d2l.torch.
tensor = torch.tensor
ones = torch.ones
zeros = torch.zeros
arange = torch.arange
normal = torch.normal
float32 = torch.float32
stack = torch.stack
concat = torch.cat
matmul = torch.matmul
abs = torch.abs  # the book's name: shadows the builtin in this module only

# d2l.torch wraps these as x.method(*args, **kwargs): the unbound method is the same call.
reshape = torch.Tensor.reshape  # d2l.reshape(X, (2, 3)) or d2l.reshape(X, 2, 3)
transpose = torch.Tensor.t  # the matrix transpose, as in the book (not torch.transpose)
reduce_sum = torch.Tensor.sum
size = torch.Tensor.numel  # the number of elements, as in the book (not Tensor.size)
