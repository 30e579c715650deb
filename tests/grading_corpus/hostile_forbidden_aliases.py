"""Hostile: the library primitives under other names (each caught statically)."""
import scipy.signal
import torch
import torch.nn.functional as fn
from torch.nn.functional import conv2d as c
from torch import nn as layers


def corr2d(X, K):
    return c(X[None, None], K[None, None])[0, 0]


def pool2d(X, pool_size, mode='max'):
    pool = getattr(fn, "max_pool2d") if mode == "max" else fn.avg_pool2d
    return pool(X[None, None], pool_size, stride=1)[0, 0]


def corr2d_multi_in(X, K):
    return torch.conv2d(X[None], K[None])[0, 0]


def corr2d_multi_in_out(X, K):
    cols = fn.unfold(X[None], K.shape[-2:])
    return (K.reshape(K.shape[0], -1) @ cols)[0].reshape(K.shape[0], X.shape[1] - K.shape[2] + 1, -1)


def corr2d_multi_in_out_1x1(X, K):
    conv = layers.Conv2d(X.shape[0], K.shape[0], 1, bias=False)
    conv.weight.data = K
    return conv(X[None])[0].detach()


def conv2d_true(X, K):
    return torch.tensor(scipy.signal.convolve2d(X.numpy(), K.numpy(), mode="valid"))
