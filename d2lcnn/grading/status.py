"""Where a student stands on each exercise of a notebook, and ``d2lcnn.check_all``.

The status of one exercise is computed in the notebook's process from the
function the student defined, the way :func:`d2lcnn.check` does (public cases
only), plus two questions the grader asks of the saved notebook: does the
function call what the exercise forbids, and is it defined where the grader
looks (a top-level ``def`` in a plain code cell)?
"""

import os
import sys
from dataclasses import dataclass
from pathlib import PurePath

from .check import forbidden_uses, public_results
from .grader_view import grader_skips, unseen
from .registry import load_all

# The states, from the most urgent to fix to done.
NOT_WRITTEN, FORBIDDEN, UNSEEN, FAILED, PASSED = (
    "not yet written",
    "forbidden",
    "not seen by the grader",
    "failed",
    "passed",
)


@dataclass(frozen=True)
class Status:
    """One exercise's standing.

    Attributes:
        name: the exercise, e.g. ``"corr2d"``.
        state: one of ``"passed"``, ``"failed"``, ``"not yet written"``,
            ``"forbidden"``, ``"not seen by the grader"``.
        passed: public cases passed (``None`` when they were not run).
        total: public cases of the exercise.
        next_step: what to do about it; empty when passed.
    """

    name: str
    state: str
    passed: int | None
    total: int
    next_step: str


def exercise_status(name: str, fn: object) -> Status:
    """The standing of exercise ``name`` for the student's function ``fn``.

    Args:
        name: a registered exercise, e.g. ``"corr2d"``.
        fn: what the notebook binds to that name; ``None`` when it binds nothing.

    Returns:
        A :class:`Status`; the public cases run in this process, as in ``d2lcnn.check``.

    Example::

        >>> exercise_status("corr2d", None).state
        'not yet written'
    """
    exercise = load_all()[name]
    total = len(exercise.public_cases)
    if fn is None:
        return Status(
            name,
            NOT_WRITTEN,
            None,
            total,
            f"run the cell that defines `{exercise.signature}` (or Run All), then this one",
        )
    module = getattr(fn, "__module__", None)  # None for functions made without a module
    if isinstance(module, str) and module.startswith("d2lcnn"):
        return Status(
            name,
            FORBIDDEN,
            None,
            total,
            f"`{name}` is the course's own, imported from {fn.__module__}: write your own",
        )
    if not callable(fn):
        return Status(
            name,
            FAILED,
            None,
            total,
            f"`{name}` is a {type(fn).__name__}, not a function: define `{exercise.definition()}:`",
        )
    try:
        passed, lines = public_results(exercise, fn)
    except NotImplementedError:
        return Status(
            name,
            NOT_WRITTEN,
            None,
            total,
            f"replace `raise NotImplementedError()` in `{exercise.definition()}` "
            "with your code, run that cell, then this one",
        )
    hits = forbidden_uses(exercise, fn)
    if hits:
        what, line = hits[0]
        return Status(
            name,
            FORBIDDEN,
            passed,
            total,
            f"line {line} uses {what}, which scores 0: use {exercise.allowed}",
        )
    skipped = grader_skips(fn)
    if not skipped and unseen(fn):
        return Status(
            name,
            UNSEEN,
            passed,
            total,
            f"{unseen(fn)[0]}; compute it inside `{name}` or bind it with a plain "
            "top-level assignment",
        )
    if skipped:
        return Status(
            name, UNSEEN, passed, total, f"{skipped}: move `{exercise.definition()}` there"
        )
    if passed < total:
        first = next(line for line in lines if line.startswith("  x"))
        return Status(
            name,
            FAILED,
            passed,
            total,
            f'{first.strip()[3:]} (details: d2lcnn.check("{name}", {name}))',
        )
    return Status(name, PASSED, passed, total, "")


def notebook_exercises(notebook: str) -> list[str]:
    """The exercises posed by ``notebook`` (``"02_conv_layer"``, a path, or a renamed copy), in order.

    Example::

        >>> notebook_exercises("workspace/02_conv_layer-mine.ipynb")
        ['corr2d', 'conv2d_true', 'corr2d_vec']
    """
    stem = PurePath(notebook).stem
    return [name for name, ex in load_all().items() if stem.startswith(PurePath(ex.notebook).stem)]


def _which_notebook(namespace: dict) -> str | None:
    """The notebook running in ``namespace``: from Jupyter's session path, else from its definitions."""
    session = namespace.get("__session__") or os.environ.get("JPY_SESSION_NAME")
    if session and notebook_exercises(session):
        return session
    mine = {
        load_all()[n].notebook
        for n, v in namespace.items()
        if n in load_all() and getattr(v, "__module__", None) == namespace.get("__name__")
    }
    return mine.pop() if len(mine) == 1 else None


def notebook_status(notebook: str, namespace: dict) -> list[Status]:
    """:func:`exercise_status` of every exercise of ``notebook``, for the functions in ``namespace``."""
    return [exercise_status(n, namespace.get(n)) for n in notebook_exercises(notebook)]


def check_all(notebook: str | None = None) -> None:
    """Print one table of every exercise of this notebook, and what to do next.

    The last cell of every student notebook, so that Run All ends with where
    you stand: passed, failed, not yet written, forbidden (0 points) or not
    seen by the grader, for each exercise.

    Args:
        notebook: the notebook's name (e.g. ``"02_conv_layer"``); by default the
            notebook that runs this cell.

    Example::

        >>> check_all("02_conv_layer")  # doctest: +ELLIPSIS
        02_conv_layer: 0 of 3 exercises passed
        ...
    """
    namespace = sys._getframe(1).f_globals
    notebook = notebook or _which_notebook(namespace)
    if notebook is None or not notebook_exercises(notebook):
        print(
            "check_all: cannot tell which notebook this is; name it, e.g. "
            'd2lcnn.check_all("02_conv_layer").'
        )
        return
    statuses = notebook_status(notebook, namespace)
    done = sum(s.state == PASSED for s in statuses)
    print(f"{PurePath(notebook).stem}: {done} of {len(statuses)} exercises passed")
    width = max(len(s.name) for s in statuses)
    for s in statuses:
        cases = "" if s.passed is None else f"  ({s.passed}/{s.total} public cases)"
        print(f"  {s.name:<{width}}  {s.state}{cases}")
    todo = next((s for s in statuses if s.state != PASSED), None)
    if todo is None:
        print(
            "All exercises pass their public cases. Save the notebook (Ctrl+S): "
            "the grader reads the saved file and also runs hidden cases."
        )
    else:
        print(f"Next: {todo.name}: {todo.next_step}.")
