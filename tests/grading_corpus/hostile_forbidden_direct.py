"""Hostile: the plain forbidden calls: F.conv2d (from the preamble), nn.MaxPool2d, scipy's correlate2d."""
import torch
from torch import nn
from scipy.signal import correlate2d


def corr2d(X, K):
    return F.conv2d(X[None, None], K[None, None])[0, 0]


def pool2d(X, pool_size, mode='max'):
    pool = nn.MaxPool2d(pool_size, stride=1) if mode == 'max' else nn.AvgPool2d(pool_size, stride=1)
    return pool(X[None, None])[0, 0]


def corr2d_multi_in(X, K):
    return torch.tensor(sum(correlate2d(x.numpy(), k.numpy(), mode="valid") for x, k in zip(X, K)))
