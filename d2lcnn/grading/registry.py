"""The graded exercises: what each one is called, how it is tested, what it may not use.

This module is machinery: the types and the registry. The exercises
themselves (content) live in ``d2lcnn/grading/exercises/<chapter>.py``, one
module per chapter, each calling :func:`register`. A case's inputs are plain tensors and numbers; the
expected output always comes from ``reference``, which is built on torch's own
ops and never on the course's generated code.
"""

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .compare import compare


@dataclass(frozen=True)
class Case:
    """One call of the student's function: ``fn(*args, **kwargs)``."""

    label: str  # shown in feedback, e.g. "1x1 kernel"; never the inputs
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    grad_enabled: bool = True  # torch.is_grad_enabled() during the call (batch norm's mode)

    def call(self, fn: Callable[..., Any]) -> Any:
        """``fn(*args, **kwargs)`` on fresh copies of the inputs, in this case's grad mode."""
        if isinstance(fn, Recorded):
            return fn.value(self)
        args = [a.clone() if isinstance(a, torch.Tensor) else a for a in self.args]
        kwargs = {
            k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in self.kwargs.items()
        }
        with torch.set_grad_enabled(self.grad_enabled):
            return fn(*args, **kwargs)

    def compare(self, expected: object, got: object, rtol: float, atol: float) -> tuple[bool, str]:
        """``(passed, message)`` for a returned value against the expected one."""
        return compare(expected, got, rtol, atol)


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
        allowed: what students may use instead, in a few words; the grader's
            and the self-check's forbidden-call feedback both say it.
        forbidden: patterns of the library functions it may not call.
        rtol, atol: tolerances for comparing float outputs (float32 by default).
        points: what the exercise is worth; each case earns an equal share.
        course_helpers: the course package's functions this exercise builds on, which it may
            call (``("corr2d",)`` for ``corr2d_multi_in``, as the book does); every other
            course function that answers it or a sibling counts as the course's answer.
        mistakes: known mistakes, ``{name: (function, sentence)}``: ``function``
            takes the reference's arguments and returns what that mistake
            computes (a wrong module, for module exercises); when a case fails
            and the student's value equals a mistake's, the feedback adds its
            sentence (see :mod:`d2lcnn.grading.mistakes`).
    """

    name: str
    signature: str
    notebook: str
    reference: Callable[..., Any]
    public_cases: tuple[Case, ...]
    hidden_cases: Callable[[torch.Generator], Iterable[Case]]
    allowed: str
    forbidden: tuple[str, ...] = ()
    rtol: float = 1e-4
    atol: float = 1e-5
    points: float = 10.0
    mistakes: dict[str, tuple[Callable[..., Any], str]] = field(default_factory=dict)
    course_helpers: tuple[str, ...] = ()

    def helpers_sentence(self) -> str:
        """`` You may call the course's d2lcnn.corr2d.`` (empty when it builds on none)."""
        if not self.course_helpers:
            return ""
        names = ", ".join(f"d2lcnn.{h}" for h in self.course_helpers)
        return f" You may call the course's {names}."

    def definition(self) -> str:
        """How students define it: ``def corr2d(X, K)`` or ``class Residual(nn.Module)``."""
        if self.name[:1].isupper():
            return f"class {self.name}(nn.Module)"
        return f"def {self.signature}"

    def cases(self, seed: int) -> list[Case]:
        """Public cases followed by the hidden ones for ``seed``: every case is graded."""
        gen = torch.Generator().manual_seed(seed)
        return list(self.public_cases) + list(self.hidden_cases(gen))


class Recorded:
    """A reference (or a known mistake) in the student release: only its values on the public cases.

    ``d2lcnn release`` computes them with the real function and ships this table instead
    of the code, so the release holds no implementation of a graded exercise; the
    self-check (``d2lcnn.check``) reads them back through :meth:`Case.call`.

    Example::

        >>> case = Case("two", (2,))
        >>> double = Recorded("double", {"two": 4})
        >>> case.call(double)
        4
    """

    def __init__(self, name: str, values: dict[str, Any]) -> None:
        self.name, self.values = name, values

    def value(self, case: Case) -> Any:
        """The recorded value of ``case`` (by its label); only public cases were recorded."""
        if case.label not in self.values:
            raise KeyError(f"{self.name}: the student release records public cases only")
        return self.values[case.label]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{self.name}: the student release ships its values on the public cases, not its code"
        )


def no_hidden_cases(gen: torch.Generator) -> list[Case]:
    """The hidden cases of a released exercise: none (the grader keeps them)."""
    return []


def record(exercise: Exercise) -> Exercise:
    """``exercise`` with its reference and mistakes replaced by their values on the public cases.

    What the student release ships: no code of the reference, the known mistakes or
    the hidden-case generator.
    """
    from dataclasses import replace

    labels = [c.label for c in exercise.public_cases]
    if len(set(labels)) != len(labels):
        raise ValueError(f"{exercise.name}: public case labels must be unique to record them")

    def values(fn: Callable[..., Any]) -> dict[str, Any]:
        out = {}
        for case in exercise.public_cases:
            try:
                out[case.label] = case.call(fn)
            except Exception:
                continue  # a mistake that cannot run on this input never matches it
        return out

    return replace(
        exercise,
        reference=Recorded(exercise.name, values(exercise.reference)),
        hidden_cases=no_hidden_cases,
        mistakes={
            name: (Recorded(f"{exercise.name}: {name}", values(fn)), sentence)
            for name, (fn, sentence) in exercise.mistakes.items()
        },
    )


# Where the student release keeps its recorded exercises (see :func:`record`).
RECORDED = Path(__file__).parent / "recorded.pt"

EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    """Add ``exercise`` to :data:`EXERCISES`; a second exercise of the same name is an error."""
    if exercise.name in EXERCISES:
        raise ValueError(f"exercise {exercise.name!r} is registered twice")
    EXERCISES[exercise.name] = exercise
    return exercise


def load_all() -> dict[str, Exercise]:
    """Import every chapter module of ``exercises/`` so that all exercises are registered."""
    folder = Path(__file__).parent / "exercises"
    chapters = [i.name for i in pkgutil.iter_modules([str(folder)]) if i.name != "common"]
    if not chapters and RECORDED.exists() and not EXERCISES:  # the student release
        EXERCISES.update(torch.load(RECORDED, weights_only=False))
    for name in chapters:
        importlib.import_module(f"{__package__}.exercises.{name}")
    return EXERCISES
