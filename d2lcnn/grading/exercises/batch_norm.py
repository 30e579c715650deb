"""Exercises of the chapter "Batch normalization" (solutions/12_batch_norm.ipynb)."""

import torch
from torch.nn import functional as F

from ..registry import Case, Exercise, register

# The library calls that would do the whole exercise in one line.
BATCH_NORM_FORBIDDEN = (
    "torch.nn.functional.batch_norm",
    "torch.batch_norm",
    "torch.native_batch_norm",
    "torch._native_batch_norm_legit*",
    "torch.nn.*BatchNorm*",
    "torch.nn.functional.instance_norm",
    "torch.instance_norm",
    "torch.nn.functional.layer_norm",
    "torch.layer_norm",
    "torch.nn.functional.group_norm",
    "torch.group_norm",
)


def batch_norm_reference(
    X: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    moving_mean: torch.Tensor,
    moving_var: torch.Tensor,
    eps: float,
    momentum: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(Y, moving_mean, moving_var)`` by ``F.batch_norm``; training iff grad is enabled."""
    C = X.shape[1]
    training = torch.is_grad_enabled()
    mean, var = moving_mean.reshape(C).clone(), moving_var.reshape(C).clone()
    with torch.no_grad():
        # F.batch_norm updates mean and var in place, with PyTorch's momentum
        # convention and the unbiased batch variance.
        Y = F.batch_norm(
            X,
            mean,
            var,
            gamma.reshape(C),
            beta.reshape(C),
            training=training,
            momentum=momentum,
            eps=eps,
        )
    return Y, mean.reshape(moving_mean.shape), var.reshape(moving_var.shape)


def _case(
    label: str,
    gen: torch.Generator,
    shape: tuple[int, ...],
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
    loc: float = 0.0,
    scale: float = 1.0,
) -> Case:
    """A case on random data: X ~ loc + scale * N(0, 1), gamma/beta/running stats random."""
    C = shape[1]
    stat = (1, C) if len(shape) == 2 else (1, C, 1, 1)
    X = loc + scale * torch.randn(*shape, generator=gen)
    gamma = 1 + 0.5 * torch.randn(*stat, generator=gen)
    beta = 0.5 * torch.randn(*stat, generator=gen)
    moving_mean = torch.randn(*stat, generator=gen)
    moving_var = 0.5 + torch.rand(*stat, generator=gen)
    return Case(
        label,
        (X, gamma, beta, moving_mean, moving_var),
        {"eps": eps, "momentum": momentum},
        grad_enabled=training,
    )


def _public() -> tuple[Case, ...]:
    gen = torch.Generator().manual_seed(12)
    return (
        _case("fully connected input (batch, features), training mode", gen, (8, 4), True),
        _case(
            "convolutional input (batch, channels, h, w), training mode", gen, (4, 3, 5, 5), True
        ),
        _case("fully connected input, inference mode (torch.no_grad)", gen, (8, 4), False),
        _case("convolutional input, inference mode (torch.no_grad)", gen, (4, 3, 5, 5), False),
    )


def batch_norm_hidden(gen: torch.Generator) -> list[Case]:
    cases = [
        _case("batch of two (smallest valid batch)", gen, (2, 5), True),
        _case("one image per batch: statistics over h*w", gen, (1, 3, 4, 4), True),
        _case("momentum 1: running stats become the batch stats", gen, (6, 3), True, momentum=1.0),
        _case("momentum 0: running stats stay put", gen, (3, 2, 3, 3), True, momentum=0.0),
        _case("shifted and scaled data", gen, (16, 4), True, loc=50.0, scale=10.0),
        _case("large eps, training", gen, (5, 2, 3, 3), True, eps=0.5),
        _case("large eps, inference", gen, (5, 6), False, eps=0.5),
    ]
    for i in range(6):
        training = bool(i % 2)
        if i < 3:
            shape = tuple(int(v) for v in torch.randint(2, 12, (2,), generator=gen))
        else:
            n, c, h, w = (int(v) for v in torch.randint(1, 7, (4,), generator=gen))
            shape = (n + 1, c, h, w)
        momentum = float(torch.rand((), generator=gen))
        mode = "training" if training else "inference"
        cases.append(
            _case(
                f"random {shape} input, {mode} mode, momentum {momentum:.2f}",
                gen,
                shape,
                training,
                momentum=momentum,
            )
        )
    return cases


register(
    Exercise(
        name="batch_norm",
        signature="batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum)",
        notebook="solutions/12_batch_norm.ipynb",
        reference=batch_norm_reference,
        public_cases=_public(),
        hidden_cases=batch_norm_hidden,
        allowed="reductions (mean, var) and elementwise arithmetic on X",
        forbidden=BATCH_NORM_FORBIDDEN,
    )
)
