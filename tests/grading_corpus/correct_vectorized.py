"""Correct, vectorized with Tensor.unfold (a strided view) and einsum: both allowed."""
import torch


def windows(X, kh, kw):
    return X.unfold(-2, kh, 1).unfold(-2, kw, 1)  # (..., h - kh + 1, w - kw + 1, kh, kw)


def corr2d(X, K):
    return torch.einsum('ijab,ab->ij', windows(X, *K.shape), K)


def pool2d(X, pool_size, mode='max'):
    W = windows(X, *pool_size)
    return W.amax(dim=(-2, -1)) if mode == 'max' else W.mean(dim=(-2, -1))


def corr2d_multi_in(X, K):
    return torch.einsum('cijab,cab->ij', windows(X, *K.shape[-2:]), K)


def corr2d_multi_in_out(X, K):
    return torch.einsum('cijab,ocab->oij', windows(X, *K.shape[-2:]), K)


def corr2d_multi_in_out_1x1(X, K):
    return torch.einsum('chw,oc->ohw', X, K[:, :, 0, 0])
