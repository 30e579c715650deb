"""Wrong: output channels stacked on the wrong axis; 1x1 reshape mixes up (c_o, c_i)."""
import torch
import d2lcnn


def corr2d_multi_in(X, K):
    return sum(d2lcnn.corr2d(x, k) for x, k in zip(X, K))


def corr2d_multi_in_out(X, K):
    return torch.stack([corr2d_multi_in(X, k) for k in K], 2)


def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    c_o = K.shape[0]
    K = K.reshape((c_i, c_o)).T  # wrong: K is (c_o, c_i, 1, 1)
    return torch.matmul(K, X.reshape((c_i, h * w))).reshape((c_o, h, w))
