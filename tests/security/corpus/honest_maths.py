"""Honest: legitimate mathematics stays allowed (Tensor.unfold, einsum, FFT, sliding_window_view)."""

import numpy as np
import torch


def corr2d(X, K):
    h, w = K.shape
    windows = X.unfold(0, h, 1).unfold(1, w, 1)  # (oh, ow, h, w)
    return torch.einsum("ijkl,kl->ij", windows, K)


def conv2d_true(X, K):
    # a true convolution is a product of spectra; keep the valid part
    h, w = X.shape
    kh, kw = K.shape
    size = (h + kh - 1, w + kw - 1)
    full = torch.fft.irfft2(
        torch.fft.rfft2(X.double(), size) * torch.fft.rfft2(K.double(), size), size
    )
    return full[kh - 1 : h, kw - 1 : w]


def pool2d(X, pool_size, mode="max"):
    windows = np.lib.stride_tricks.sliding_window_view(X.numpy(), pool_size)
    out = windows.max(axis=(2, 3)) if mode == "max" else windows.mean(axis=(2, 3))
    return torch.from_numpy(np.ascontiguousarray(out))


def corr2d_multi_in(X, K):
    return sum(d2lcnn.corr2d(x, k) for x, k in zip(X, K))  # an allowed course helper
