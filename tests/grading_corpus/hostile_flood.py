"""Hostile: floods stdout. corr2d prints 2 MB and is right; pool2d prints forever."""
import sys

import torch


def corr2d(X, K):
    line = "spam " * 200 + "\n"
    for _ in range(2_000):
        sys.stdout.write(line)
    h, w = K.shape
    return (X.unfold(0, h, 1).unfold(1, w, 1) * K).sum(dim=(-2, -1))


def pool2d(X, pool_size, mode='max'):
    while True:
        print("more spam " * 100)
