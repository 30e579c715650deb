"""Correct, with imports a notebook might have (stdlib modules not loaded yet, scipy), at top level and inside."""
import colorsys
import scipy.signal
import torch

def corr2d(X, K):
    import wave, sqlite3
    h, w = K.shape
    return (X.unfold(0, h, 1).unfold(1, w, 1) * K).sum(dim=(-2, -1))
