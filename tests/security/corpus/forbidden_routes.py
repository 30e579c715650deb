"""Hostile: reaches the forbidden kernels through routes that skip torch's Python functions
(names built at run time, so only the sandbox can see them)."""

import torch


def _name(*parts):
    return "".join(parts)


def corr2d(X, K):
    functions = getattr(torch._C, _name("_Variable", "FunctionsClass"))
    return getattr(functions, _name("conv", "2d"))(X[None, None], K[None, None])[0, 0]


def pool2d(X, pool_size, mode="max"):
    op = torch._C._get_operation_overload(_name("aten::", mode, "_pool2d"), "")[0]
    return op(X[None, None], pool_size, [1, 1])[0, 0]


def corr2d_multi_in(X, K):
    op = torch._C._jit_get_operation(_name("aten::conv", "2d"))[0]
    return op(X[None], K[None])[0, 0]


def corr2d_multi_in_out(X, K):
    qualified = _name("aten::conv", "2d")
    op = torch._C._jit_get_operation(qualified)[0]
    packet = torch._ops.OpOverloadPacket(qualified, _name("conv", "2d"), op, ["", "padding"])
    return packet(X[None], K)[0]


def corr2d_multi_in_out_1x1(X, K):
    kernel = getattr(torch, _name("mkldnn_", "convolution"))
    return kernel(X[None], K, None, (0, 0), (1, 1), (1, 1), 1)[0]
