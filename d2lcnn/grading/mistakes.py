"""Name the mistake: does a failed case's value equal what a known mistake computes?

Each exercise registers its known mistakes as ``mistakes={name: (function,
sentence)}`` (see :class:`~d2lcnn.grading.registry.Exercise`). The function has
the reference's signature and computes what the mistake computes, built on
torch's own ops like the reference. When a case fails, the grader (in its own
process, on the plain data the sandbox returned) and ``d2lcnn.check`` (in the
notebook) evaluate the mistakes on that case's inputs, and when one of them
matches the student's value, the feedback adds its sentence. Passing cases
never evaluate a mistake, so a correct submission costs nothing more to grade.
"""

from collections.abc import Iterable
from typing import Any

from .compare import to_array
from .registry import Case, Exercise

CACHE_SIZE = 4096  # mistake values kept; a batch with per-submission cases must not grow forever
_CACHE: dict[tuple[int, str], tuple[Case, Any]] = {}  # (id(case), mistake) -> (case, value)


def _value(case: Case, name: str, fn: Any) -> Any:
    """What mistake ``name`` computes on ``case``; None when it cannot run on these inputs."""
    key = (id(case), name)
    if key not in _CACHE:
        try:
            value = case.call(fn)
            value = tuple(to_array(v) for v in value) if isinstance(value, tuple) else value
        except Exception:
            value = None  # the mistake cannot even run on this input (e.g. shapes that clash)
        if len(_CACHE) >= CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = (case, value)  # keeps the case alive, so its id stays unique
    return _CACHE[key][1]


def diagnose(
    exercise: Exercise, case: Case, got: Any, names: Iterable[str] | None = None
) -> tuple[str, str] | None:
    """``(name, sentence)`` of the first registered mistake whose value on ``case`` equals ``got``.

    Args:
        exercise: a registered :class:`~d2lcnn.grading.registry.Exercise`.
        case: the failed case.
        got: the student's value, as the comparison received it (a tensor, or
            the grader's decoded copy of one).
        names: try only these registered mistakes, in this order (default: all of them).

    Returns:
        The mistake's registered name and its sentence for the student; None
        when no registered mistake computes ``got``.

    Example::

        >>> import torch
        >>> from d2lcnn.grading.registry import load_all
        >>> exercise = load_all()["corr2d"]
        >>> case = exercise.public_cases[0]
        >>> flipped = case.call(exercise.mistakes["kernel flipped"][0])
        >>> diagnose(exercise, case, flipped)[0]
        'kernel flipped'
        >>> diagnose(exercise, case, torch.zeros(2, 2)) is None
        True
    """
    for name in exercise.mistakes if names is None else names:
        fn, sentence = exercise.mistakes[name]
        value = _value(case, name, fn)
        if value is None:
            continue
        try:
            ok, _ = case.compare(value, got, exercise.rtol, exercise.atol)
        except Exception:
            ok = False
        if ok:
            return name, sentence
    return None


def recognise(exercise: Exercise, case: Case, got: Any) -> str:
    """The sentence of the first registered mistake whose value on ``case`` equals ``got``; ''.

    Example::

        >>> from d2lcnn.grading.registry import load_all
        >>> exercise = load_all()["corr2d"]
        >>> case = exercise.public_cases[0]
        >>> recognise(exercise, case, case.call(exercise.mistakes["transposed"][0]))[:38]
        'Your output is the correct one transpo'
    """
    found = diagnose(exercise, case, got)
    return found[1] if found else ""


def with_mistake(message: str, sentence: str) -> str:
    """A failed case's message, followed by the recognised mistake's sentence if any.

    Example::

        >>> with_mistake("3 of 4 values differ", "Your kernel is flipped.")
        '3 of 4 values differ. Your kernel is flipped.'
    """
    return f"{message.rstrip('.')}. {sentence}" if sentence else message
