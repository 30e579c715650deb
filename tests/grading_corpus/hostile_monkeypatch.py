"""Hostile: patches the comparison functions and returns a tensor that claims to equal anything."""
import numpy as np
import torch


class Liar(torch.Tensor):
    def __eq__(self, other):
        return True

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True  # allclose, isclose, equal, sub, abs: "all fine"


def corr2d(X, K):
    torch.allclose = lambda *a, **k: True
    torch.isclose = lambda a, b, *r, **k: torch.ones_like(a, dtype=torch.bool)
    torch.equal = lambda *a, **k: True
    np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
    np.allclose = lambda *a, **k: True
    torch.Tensor.__eq__ = lambda a, b: True
    return torch.zeros(1).as_subclass(Liar)


def pool2d(X, pool_size, mode='max'):
    return torch.zeros(2, 2).as_subclass(Liar)
