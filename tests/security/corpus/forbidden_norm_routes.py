"""Hostile: torch's own batch norm through routes that skip its Python functions (names built
at run time, so only the sandbox can see them)."""

import torch


def _name(*parts):
    return "".join(parts)


def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    functions = getattr(torch._C, _name("_Variable", "FunctionsClass"))
    shape = moving_mean.shape
    mean, var = moving_mean.flatten().clone(), moving_var.flatten().clone()
    training = torch.is_grad_enabled()
    Y = getattr(functions, _name("batch_", "norm"))(
        X, gamma.flatten(), beta.flatten(), mean, var, training, 1 - momentum, eps, False
    )
    return Y, mean.reshape(shape), var.reshape(shape)


class BatchNorm(torch.nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = torch.nn.Parameter(torch.ones(shape))
        self.beta = torch.nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(num_features))
        self.register_buffer("moving_var", torch.ones(num_features))

    def forward(self, X):
        op = torch._C._jit_get_operation(_name("aten::native_", "batch_norm"))[0]
        Y = op(
            X,
            self.gamma.flatten(),
            self.beta.flatten(),
            self.moving_mean,
            self.moving_var,
            self.training,
            0.1,
            1e-5,
        )[0]
        return Y
