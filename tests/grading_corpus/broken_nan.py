"""Broken: divides 0 by 0, so every output is NaN."""
import torch


def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    return Y / Y
