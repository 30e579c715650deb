"""Hostile: ends the process from inside the exercise (os._exit, sys.exit)."""
import os
import sys

import torch


def corr2d(X, K):
    os._exit(0)


def pool2d(X, pool_size, mode='max'):
    sys.exit(3)


def corr2d_multi_in(X, K):
    return torch.einsum('cijab,cab->ij', X.unfold(1, K.shape[1], 1).unfold(2, K.shape[2], 1), K)
