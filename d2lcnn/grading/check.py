"""``d2lcnn.check``: run an exercise's public cases in the notebook and report."""

import ast
import inspect
import textwrap
import traceback
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import forbidden
from .grader_view import grader_skips, unseen
from .mistakes import recognise, with_mistake
from .registry import EXERCISES, Exercise, load_all

PACKAGE = str(Path(__file__).resolve().parents[1])


def _where(error: BaseException) -> str:
    """`` (line N: `code`)`` of the innermost frame outside the course package, if any."""
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if not str(Path(f.filename).resolve()).startswith(PACKAGE)
    ]
    if not frames:
        return ""
    f = frames[-1]
    return f" (line {f.lineno}" + (f": `{f.line.strip()}`" if f.line else "") + ")"


def forbidden_uses(exercise: Exercise, fn: Callable[..., Any]) -> list[tuple[str, int]]:
    """What ``fn``'s source reaches that the grader forbids: ``[(dotted name, line)]``; [] if unknown."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return []
    known = {}
    home = getattr(fn, "__module__", None)  # "__main__" in a notebook
    for name, value in getattr(fn, "__globals__", {}).items():
        if value is fn:
            continue  # the function itself, wherever it was defined
        if isinstance(value, types.ModuleType):
            known[name] = value.__name__
        elif (
            callable(value)
            and isinstance(getattr(value, "__module__", None), str)
            and getattr(value, "__module__", None) not in ("__main__", home)
        ):  # what is defined beside fn is the author's own, like fn
            known[name] = f"{value.__module__}.{getattr(value, '__name__', name)}"
    start = getattr(fn, "__code__", None)
    offset = start.co_firstlineno - 1 if start else 0
    hits = forbidden.scan_statements(
        [("cell", node) for node in tree.body], fn.__name__, forbidden.patterns_for(exercise), known
    )
    return [(what, line + offset) for what, _, line in hits]


def check(name: str, fn: Any) -> None:
    """Run the public cases of exercise ``name`` on ``fn`` and print a report.

    This is the students' self-check: it runs in the notebook's own process
    and only on the public cases. The grader runs hidden cases as well, in a
    sandbox, and gives 0 points to a function that calls what the exercise
    forbids; this check says so on its first line.

    Args:
        name: the exercise, e.g. ``"corr2d"``.
        fn: the student's function.

    Returns:
        None: the verdict is printed, so the cell shows only the report.

    Example::

        >>> import d2lcnn
        >>> d2lcnn.check("corr2d", d2lcnn.corr2d)  # doctest: +SKIP
        corr2d: 3/3 public cases passed (all public cases passed; the grader also runs hidden cases).
    """
    exercise = load_all().get(name)
    if exercise is None:
        raise KeyError(f"no exercise named {name!r}; known: {', '.join(sorted(EXERCISES))}")
    if not callable(fn):
        print(
            f"{name}: expected a function, got {type(fn).__name__}; pass the function itself, "
            f"e.g. d2lcnn.check({name!r}, {name})."
        )
        return
    try:
        passed, lines = public_results(exercise, fn)
    except NotImplementedError:
        print(
            f"{name}: not implemented yet. Replace `raise NotImplementedError()` "
            "with your code, run that cell, then run this check again."
        )
        return
    # A forbidden call costs every point, whatever the cases say: it comes first.
    for what, line in forbidden_uses(exercise, fn)[:3]:
        print(
            f"{name}: scores 0 points: line {line} uses {what}, which this exercise forbids. "
            f"Use {exercise.allowed} instead.{exercise.helpers_sentence()}"
        )
    total = len(exercise.public_cases)
    verdict = "all public cases passed" if passed == total else "some public cases failed"
    print(
        f"{name}: {passed}/{total} public cases passed ({verdict}; "
        "the grader also runs hidden cases)."
    )
    # What passes here can still fail there: the grader runs only what it keeps of the notebook.
    for problem in [grader_skips(fn), *unseen(fn)][:5]:
        if problem:
            print(f"{name}: the grader would not see this: {problem}.")
    if passed != total:
        print("\n".join(lines))


def public_results(exercise: Exercise, fn: Callable[..., Any]) -> tuple[int, list[str]]:
    """Run ``fn`` on the public cases: ``(number passed, one line per case)``.

    Raises:
        NotImplementedError: ``fn`` is still the notebook's stub.
    """
    lines, passed = [], 0
    for case in exercise.public_cases:
        try:
            got = case.call(fn)
        except NotImplementedError:
            raise
        except Exception as e:
            lines.append(f"  x  {case.label}: raised {type(e).__name__}: {e}{_where(e)}")
            continue
        ok, message = case.compare(case.call(exercise.reference), got, exercise.rtol, exercise.atol)
        if not ok:
            message = with_mistake(message, recognise(exercise, case, got))
        passed += ok
        lines.append(f"  ok {case.label}" if ok else f"  x  {case.label}: {message}")
    return passed, lines
