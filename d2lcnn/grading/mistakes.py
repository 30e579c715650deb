"""Name the mistake: does a failed case's value equal what a known mistake computes?

Each exercise registers its known mistakes as ``mistakes={name: (function,
sentence)}`` (see :class:`~d2lcnn.grading.registry.Exercise`). The function has
the reference's signature and computes what the mistake computes, built on
torch's own ops like the reference. When a case fails, the grader (in its own
process, on the plain data the sandbox returned) and ``d2lcnn.check`` (in the
notebook) evaluate the mistakes on that case's inputs, and when one of them
matches the student's value, the feedback adds its sentence.
"""

from collections.abc import Callable

from .compare import to_array
from .registry import Case, Exercise

_CACHE: dict = {}  # (id(case), mistake name) -> (case, value): computed once per case


def _value(case: Case, name: str, fn: Callable) -> object:
    key = (id(case), name)
    if key not in _CACHE:
        try:
            value = case.call(fn)
            value = tuple(to_array(v) for v in value) if isinstance(value, tuple) else value
        except Exception:
            value = None  # the mistake cannot even run on this input (e.g. shapes that clash)
        _CACHE[key] = (case, value)  # keeps the case alive, so its id stays unique
    return _CACHE[key][1]


def recognise(exercise: Exercise, case: Case, got: object) -> str:
    """The sentence of the first registered mistake whose value on ``case`` equals ``got``; ''.

    Args:
        exercise: a registered :class:`~d2lcnn.grading.registry.Exercise`.
        case: the failed case.
        got: the student's value, as the comparison received it.

    Example::

        >>> from d2lcnn.grading.registry import load_all
        >>> exercise = load_all()["vgg_block"]
        >>> case = exercise.public_cases[0]
        >>> recognise(exercise, case, case.call(exercise.mistakes["no pooling"][0]))[:47]
        'Your block computes vgg_block without its max p'
    """
    for name, (fn, sentence) in exercise.mistakes.items():
        value = _value(case, name, fn)
        if value is None:
            continue
        try:
            ok, _ = case.compare(value, got, exercise.rtol, exercise.atol)
        except Exception:
            ok = False
        if ok:
            return sentence
    return ""


def with_mistake(message: str, sentence: str) -> str:
    """A failed case's message, followed by the recognised mistake's sentence if any.

    Example::

        >>> with_mistake("3 of 4 values differ", "Your kernel is flipped.")
        '3 of 4 values differ. Your kernel is flipped.'
    """
    return f"{message.rstrip('.')}. {sentence}" if sentence else message
