"""Broken: corr2d returns a string, pool2d forgets to return."""
import torch


def corr2d(X, K):
    return "I computed it, trust me"


def pool2d(X, pool_size, mode='max'):
    Y = torch.zeros((X.shape[0] - pool_size[0] + 1, X.shape[1] - pool_size[1] + 1))
