"""Hostile: forbidden calls hidden from a static reading (built strings, eval); the tripwires catch them."""
import torch


def corr2d(X, K):
    conv = eval("F.con" + "v2d")
    return conv(X[None, None], K[None, None])[0, 0]


def pool2d(X, pool_size, mode='max'):
    op = getattr(torch.ops.aten, "max_" + "pool2d")
    return op(X[None, None], list(pool_size), [1, 1])[0, 0]


def corr2d_multi_in(X, K):
    name = "".join(["conv", "2d"])
    return getattr(torch, name)(X[None], K[None])[0, 0]
