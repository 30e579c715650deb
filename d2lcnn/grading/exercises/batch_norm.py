"""Exercises of the chapter "Batch normalization" (solutions/12_batch_norm.ipynb)."""

from dataclasses import replace
from functools import partial

import torch
from torch import nn

from ..modules import ModuleCase
from ..registry import Case, Exercise, register
from ..stand_in import batch_norm_reference
from .common import block_case, randint
from .mistaken import Mistake

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
    # every normalization operator, whatever its namespace (blocked at the dispatcher)
    "torch.ops.aten.*batch_norm*",
    "torch.ops.aten.*layer_norm*",
    "torch.ops.aten.*group_norm*",
    "torch.ops.aten.*instance_norm*",
)


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


def batch_norm_mistake(
    X: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    moving_mean: torch.Tensor,
    moving_var: torch.Tensor,
    eps: float,
    momentum: float,
    *,
    norm_unbiased: bool = False,
    running_unbiased: bool = True,
    axes_4d: tuple[int, ...] = (0, 2, 3),
    batch_stats: bool = False,
    with_eps: bool = True,
    momentum_inverted: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What ``batch_norm`` returns with one known mistake switched on, in float64.

    The defaults compute the reference's values; each keyword is one mistake:
    the unbiased variance in the normalisation, the biased one in the running
    update, statistics over the wrong axes of a 4-D input, batch statistics under
    ``torch.no_grad()``, no ``eps``, or the running average's weights swapped.
    """
    X, gamma, beta, mean0, var0 = (
        torch.as_tensor(t, dtype=torch.float64) for t in (X, gamma, beta, moving_mean, moving_var)
    )
    eps = eps if with_eps else 0.0
    if not (torch.is_grad_enabled() or batch_stats):
        return gamma * (X - mean0) / torch.sqrt(var0 + eps) + beta, mean0, var0
    axes = (0,) if X.dim() == 2 else axes_4d
    mean = X.mean(dim=axes, keepdim=True)
    var = X.var(dim=axes, keepdim=True, correction=int(norm_unbiased))
    Y = gamma * (X - mean) / torch.sqrt(var + eps) + beta
    n = X.numel() // X.shape[1]  # values per feature, as the solution counts them
    biased = X.var(dim=axes, keepdim=True, correction=0)
    running = biased * n / (n - 1) if running_unbiased else biased
    weight = 1 - momentum if momentum_inverted else momentum
    return Y, (1 - weight) * mean0 + weight * mean, (1 - weight) * var0 + weight * running


BATCH_NORM_MISTAKES: dict[str, Mistake] = {
    "unbiased variance in the normalisation": (
        partial(batch_norm_mistake, norm_unbiased=True),
        "Your output is normalised with the unbiased batch variance (divided by n - 1): "
        "normalise with the batch's own spread, the mean of (X - mean) ** 2; only the running "
        "variance gets the unbiased estimate.",
    ),
    "biased running variance": (
        partial(batch_norm_mistake, running_unbiased=False),
        "Your running variance is updated with the biased batch variance: the running "
        "estimate takes the unbiased one, var * n / (n - 1), as PyTorch does.",
    ),
    "statistics over the batch axis only": (
        partial(batch_norm_mistake, axes_4d=(0,)),
        "For (batch, channels, h, w) input your statistics are per channel and per pixel "
        "(a mean over axis 0 only): average over axes (0, 2, 3), one mean and variance per "
        "channel.",
    ),
    "batch statistics in inference": (
        partial(batch_norm_mistake, batch_stats=True),
        "Under torch.no_grad() (inference) your function normalises with the batch's own "
        "statistics: use moving_mean and moving_var there, and return them unchanged.",
    ),
    "no eps": (
        partial(batch_norm_mistake, with_eps=False),
        "Your function divides by sqrt(var) without eps: add eps to the variance before the "
        "square root.",
    ),
    "momentum inverted": (
        partial(batch_norm_mistake, momentum_inverted=True),
        "Your running statistics weigh the batch by 1 - momentum: with PyTorch's convention "
        "the new value is (1 - momentum) * old + momentum * batch statistic.",
    ),
}


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
        mistakes=BATCH_NORM_MISTAKES,
    )
)


# ---- the layer: BatchNorm(num_features, num_dims) --------------------------------------


def batch_norm_layer_reference(num_features: int, num_dims: int) -> nn.Module:
    """PyTorch's layer for (batch, features) or (batch, channels, h, w) inputs (momentum 0.1, eps 1e-5)."""
    return nn.BatchNorm1d(num_features) if num_dims == 2 else nn.BatchNorm2d(num_features)


class BatchNormMistake(nn.Module):
    """A scratch batch-normalization layer with one of the known mistakes switched on.

    Args:
        grad_mode: pick training vs prediction from ``torch.is_grad_enabled()`` (the book's
            function), not from ``self.training``.
        unbiased: the running variance gets the unbiased batch variance (PyTorch's rule).
        update: the running statistics are updated at all.
        momentum: the weight of the batch in the running statistics (0.9: the book's
            convention read the wrong way round).
    """

    def __init__(
        self,
        num_features: int,
        num_dims: int,
        grad_mode: bool = False,
        unbiased: bool = True,
        update: bool = True,
        momentum: float = 0.1,
    ) -> None:
        self.mean: torch.Tensor
        self.var: torch.Tensor
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma, self.beta = nn.Parameter(torch.ones(shape)), nn.Parameter(torch.zeros(shape))
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("var", torch.ones(shape))
        self.grad_mode, self.unbiased, self.update, self.momentum = (
            grad_mode,
            unbiased,
            update,
            momentum,
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        training = torch.is_grad_enabled() if self.grad_mode else self.training
        if not training:
            return self.gamma * (X - self.mean) / torch.sqrt(self.var + 1e-5) + self.beta
        dims = (0,) if X.dim() == 2 else (0, 2, 3)
        mean = X.mean(dim=dims, keepdim=True)
        var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
        if self.update:
            n = X.numel() // X.shape[1]
            stored = var * n / (n - 1) if self.unbiased else var
            with torch.no_grad():
                self.mean = (1 - self.momentum) * self.mean + self.momentum * mean
                self.var = (1 - self.momentum) * self.var + self.momentum * stored
        return self.gamma * (X - mean) / torch.sqrt(var + 1e-5) + self.beta


def _bn(
    label: str,
    args: tuple,
    shape: tuple,
    gen: torch.Generator,
    steps: int = 3,
    loc: float = 0.0,
    scale: float = 1.0,
) -> ModuleCase:
    """A case of ``steps`` training batches of ``shape``, then one batch for prediction."""
    case = block_case(label, args, [shape] * (steps + 1), gen, steps=True)
    return replace(case, inputs=tuple(loc + scale * X for X in case.inputs))


def batch_norm_layer_hidden(gen: torch.Generator) -> list[ModuleCase]:
    cases = [
        _bn("batches of two", (3, 2), (2, 3), gen),
        _bn("one image per batch (statistics over h * w)", (2, 4), (1, 2, 3, 3), gen),
        _bn("one training step", (4, 2), (5, 4), gen, steps=1),
        _bn("many steps", (2, 4), (3, 2, 2, 2), gen, steps=6),
        _bn("shifted and scaled data", (5, 2), (16, 5), gen, loc=20.0, scale=5.0),
        _bn("one feature", (1, 2), (8, 1), gen),
    ]
    for i in range(4):
        shape: tuple[int, ...]
        if i % 2:
            shape = (randint(gen, 2, 9), randint(gen, 1, 6), randint(gen, 1, 5), randint(gen, 1, 5))
        else:
            shape = (randint(gen, 2, 12), randint(gen, 1, 10))
        cases.append(
            _bn(
                f"random layer #{i + 1}",
                (shape[1], len(shape)),
                shape,
                gen,
                steps=randint(gen, 1, 5),
            )
        )
    return cases


_PUBLIC = torch.Generator().manual_seed(12)
register(
    Exercise(
        name="BatchNorm",
        signature="BatchNorm(num_features, num_dims)",
        notebook="solutions/12_batch_norm.ipynb",
        reference=batch_norm_layer_reference,
        public_cases=(
            _bn("BatchNorm(4, 2) after a dense layer, 3 batches of 8", (4, 2), (8, 4), _PUBLIC),
            _bn(
                "BatchNorm(3, 4) after a convolution, 3 batches of (4, 3, 5, 5)",
                (3, 4),
                (4, 3, 5, 5),
                _PUBLIC,
            ),
        ),
        hidden_cases=batch_norm_layer_hidden,
        allowed="your batch_norm, reductions (mean, var) and elementwise arithmetic",
        forbidden=BATCH_NORM_FORBIDDEN + ("d2lcnn.*", "torchvision.models*"),
        rtol=1e-4,
        atol=1e-4,
        mistakes={
            "grad mode": (
                partial(BatchNormMistake, grad_mode=True),
                "Your layer picks its mode from torch.is_grad_enabled() (the book's rule): a "
                "torch layer follows self.training, so .eval() must switch to the running "
                "statistics even with autograd on, and training mode uses the batch even under "
                "torch.no_grad().",
            ),
            "biased running variance": (
                partial(BatchNormMistake, unbiased=False),
                "Your running variance stores the biased batch variance: PyTorch's stores "
                "var * n / (n - 1).",
            ),
            "no running update": (
                partial(BatchNormMistake, update=False),
                "Your running statistics never change: after each training batch they move "
                "towards the batch's mean and variance (momentum 0.1).",
            ),
            "momentum inverted": (
                partial(BatchNormMistake, momentum=0.9),
                "Your running statistics give the new batch a weight of 0.9: with PyTorch's "
                "convention, momentum 0.1 is the weight of the batch.",
            ),
        },
    )
)
