"""Hostile: asks for far more memory than the sandbox allows."""
import torch


def corr2d(X, K):
    hog = torch.ones(2**36)  # 256 GiB
    return hog[:1]


def pool2d(X, pool_size, mode='max'):
    chunks = []
    while True:  # 1 GiB at a time, until the address-space limit says no
        chunks.append(torch.empty(2**28))
