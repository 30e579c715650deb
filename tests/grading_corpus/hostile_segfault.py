"""Hostile: dereferences NULL and kills the process with SIGSEGV."""
import ctypes

import torch


def corr2d(X, K):
    return ctypes.string_at(0)


def pool2d(X, pool_size, mode='max'):
    W = X.unfold(0, pool_size[0], 1).unfold(1, pool_size[1], 1)
    return W.amax(dim=(-2, -1)) if mode == 'max' else W.mean(dim=(-2, -1))
