"""The graded exercises: what each one is called, how it is tested, what it may not use.

Each chapter's exercises live in a module ``d2lcnn/grading/ex_<chapter>.py``
that calls :func:`register`. A case's inputs are plain tensors and numbers; the
expected output always comes from ``reference``, which is built on torch's own
ops and never on the course's generated code.
"""
import importlib
import pkgutil
from pathlib import Path
from dataclasses import dataclass, field
from typing import Callable

import torch

# Library primitives that the convolution and pooling exercises exist to teach:
# fnmatch patterns of dotted names, checked in the submission's code (aliases
# resolved) and by tripwires during the call. Tensor.unfold (a strided view),
# einsum, matmul and reductions stay allowed.
CONV_POOL_FORBIDDEN = (
    "torch.nn.functional.conv*", "torch.nn.functional.conv_transpose*",
    "torch.nn.functional.*pool*", "torch.nn.functional.unfold", "torch.nn.functional.fold",
    "torch.conv*", "torch.nn.Conv*", "torch.nn.*Pool*", "torch.nn.Unfold", "torch.nn.Fold",
    "scipy.signal.correlate*", "scipy.signal.convolve*",
    # the same primitives under other names
    "torch.*_pool*", "torch._convolution*", "torch.nn.LazyConv*",
    "torch.nn.modules.conv.*", "torch.nn.modules.pooling.*", "torch.nn.modules.fold.*",
    "torch._C._nn.*conv*", "torch._C._nn.*pool*", "torch._C._nn.im2col", "torch._C._nn.col2im",
    "torch._C._VariableFunctions.conv*", "torch._C._VariableFunctions.*convolution*",
    "torch._C._VariableFunctions.*_pool*",
    "torch.ops.aten.conv*", "torch.ops.aten.*convolution*", "torch.ops.aten.*_pool*",
    "torch.ops.aten.*conv_depthwise*", "torch.ops.aten.*slow_conv*", "torch.ops.aten.thnn_conv*",
    "torch.ops.aten.im2col*", "torch.ops.aten.col2im*",
    "scipy.signal.*correlate*", "scipy.signal.*convolve*", "scipy.ndimage.*",
    "numpy.convolve", "numpy.correlate",
)


@dataclass(frozen=True)
class Case:
    """One call of the student's function: ``fn(*args, **kwargs)``."""
    label: str                    # shown in feedback, e.g. "1x1 kernel"; never the inputs
    args: tuple
    kwargs: dict = field(default_factory=dict)
    grad_enabled: bool = True     # torch.is_grad_enabled() during the call (batch norm's mode)

    def call(self, fn):
        """``fn(*args, **kwargs)`` on fresh copies of the inputs, in this case's grad mode."""
        args = [a.clone() if isinstance(a, torch.Tensor) else a for a in self.args]
        kwargs = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in self.kwargs.items()}
        with torch.set_grad_enabled(self.grad_enabled):
            return fn(*args, **kwargs)


@dataclass(frozen=True)
class Exercise:
    """A function students write, with its reference and its test cases.

    Attributes:
        name: the function name students define, e.g. ``"corr2d"``.
        signature: as shown to students, e.g. ``"corr2d(X, K)"``.
        notebook: the solution notebook that poses it.
        reference: computes the expected output, from torch's own ops.
        public_cases: fixed cases that ``d2lcnn.check`` runs for students.
        hidden_cases: ``hidden_cases(generator)`` -> edge cases plus randomized
            cases drawn from the ``torch.Generator`` seeded by the grader.
        forbidden: patterns of the library functions it may not call.
        rtol, atol: tolerances for comparing float outputs (float32 by default).
        points: what the exercise is worth; each case earns an equal share.
    """
    name: str
    signature: str
    notebook: str
    reference: Callable
    public_cases: tuple
    hidden_cases: Callable
    forbidden: tuple = CONV_POOL_FORBIDDEN
    rtol: float = 1e-4
    atol: float = 1e-5
    points: float = 10.0

    def cases(self, seed):
        """Public cases followed by the hidden ones for ``seed``: every case is graded."""
        gen = torch.Generator().manual_seed(seed)
        return list(self.public_cases) + list(self.hidden_cases(gen))


def randn(gen):
    """A ``torch.randn``-like function drawing from ``gen``, for hidden cases."""
    return lambda *shape: torch.randn(*shape, generator=gen)


def randint(gen, low, high):
    """An int in ``[low, high)`` drawn from ``gen``."""
    return int(torch.randint(low, high, (1,), generator=gen))


EXERCISES = {}


def register(exercise):
    """Add ``exercise`` to :data:`EXERCISES`; a second exercise of the same name is an error."""
    if exercise.name in EXERCISES:
        raise ValueError(f"exercise {exercise.name!r} is registered twice")
    EXERCISES[exercise.name] = exercise
    return exercise


def load_all():
    """Import every ``ex_*`` module beside this one so that all exercises are registered."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("ex_"):
            importlib.import_module(f"{__package__}.{info.name}")
    return EXERCISES
