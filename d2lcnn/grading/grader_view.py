"""What the grader will see of a function written in a notebook: the self-check's warnings.

The grader never runs the notebook. It keeps, of each plain code cell, the
top-level ``def``, ``class``, ``import`` and plain assignments (see
:mod:`~d2lcnn.grading.extract`), and runs only those. A function that passes
in the kernel can still fail there: it reads a top-level name built by a call
(``W = torch.ones(3)``) or computed from one, a name bound in a ``%%`` magic
cell or inside a top-level ``for``/``if``, or a name no cell binds any more
(the kernel remembers it). :func:`unseen` runs the grader's own extraction on the cells
the kernel ran and says so, one line per problem; ``d2lcnn.check`` prints
them and ``check_all`` reports the exercise as not seen by the grader.
"""

import ast
import builtins
import inspect
import linecache
from collections.abc import Callable
from typing import Any

from .extract import PREAMBLE, Chunk, _chunk, _has_effects, _names, bound, drop_dependents

GIVEN = {"math", "np", "torch", "nn", "F", "d2lcnn"}  # the grader's preamble binds these
assert all(f" {n}\n" in PREAMBLE or f" as {n}\n" in PREAMBLE for n in GIVEN)


def kernel_cells() -> list[str]:
    """The cells this IPython kernel ran, as typed (magics included); [] outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    return [text for text in history or [] if isinstance(text, str) and text.strip()]


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _sources(fn: Callable[..., Any]) -> list[str]:
    """The cells the function's notebook ran, else the file that defines it, as one cell."""
    cells = kernel_cells()
    if cells:
        return cells
    if _in_kernel():
        # A kernel that keeps no history (nbval runs cells so): the function's own
        # file is one cell, not the notebook, so it would hide what other cells bind.
        return []
    code = getattr(fn, "__code__", None)
    text = "".join(linecache.getlines(code.co_filename)) if code else ""
    return [text] if text else []


def _why_dropped(node: ast.stmt) -> str:
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        value = node.value
        if value is not None and _has_effects(value):
            return "is built by a call at the top level, which the grader does not run"
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(n is None for t in targets for n in _names(t)):
            return "is changed in place (X[0] = ..., net.w = ...), which the grader does not run"
        return "is computed from a name built by a top-level call, which the grader does not run"
    if isinstance(node, ast.AugAssign):
        return "is updated (+=) at the top level, which the grader does not run"
    return (
        f"is bound inside a top-level `{type(node).__name__.lower()}` statement, "
        "which the grader does not run"
    )


def _where(cells: list[str]) -> dict[str, str]:
    """``{name: ''}`` when the grader binds it, else why not, from the last cell that binds it."""
    chunks = [_chunk("cell", text, [], {}) for text in cells]
    drop_dependents([c for c in chunks if c is not None])
    status: dict[str, str] = {}
    for text, chunk in zip(cells, chunks):
        for name, why in _magic(text) if chunk is None else _statuses(chunk):
            status[name] = why
    return status


def _magic(text: str) -> list[tuple[str, str]]:
    """What a cell the grader skips binds (a %% magic cell: its body after the first line)."""
    body = text.split("\n", 1)[1] if text.lstrip().startswith("%%") else ""
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return []
    why = "is bound in a %% magic cell, which the grader skips"
    return [(name, why) for node in tree.body for name in bound(node)]


def _statuses(chunk: Chunk) -> list[tuple[str, str]]:
    kept = set(chunk.keep)
    return [
        (name, "" if i in kept else _why_dropped(node))
        for i, node in enumerate(chunk.tree.body)
        for name in bound(node)
    ]


def needs(fn: Callable[..., Any]) -> list[str]:
    """The global names ``fn`` reads when it runs (not builtins), in a stable order."""
    try:
        found = inspect.getclosurevars(fn)
    except (TypeError, ValueError):
        return []
    return sorted(n for n in found.globals if n != fn.__name__)


def grader_skips(fn: object) -> str:
    """Why the grader would not see the definition of ``fn``; empty if it would (or if unknown).

    The grader keeps only top-level ``def``/``class``/``import`` statements and
    simple assignments of plain code cells (see :mod:`d2lcnn.grading.extract`).

    Example::

        >>> grader_skips(len)
        ''
    """
    code = getattr(fn, "__code__", None)
    if code is None or code.co_name == "<lambda>":
        return ""
    text = "".join(linecache.getlines(code.co_filename))
    if not text:
        return ""  # source unknown: nothing to say
    chunk = _chunk("cell", text, [], {})
    if chunk is None:
        return "its cell is not plain Python (a %% cell magic or a syntax error)"
    names = {getattr(node, "name", None) for node in chunk.kept()}
    if code.co_name not in names:
        return (
            f"`def {code.co_name}` is not at the top level of its cell (inside an if, for, "
            "with or try); the grader runs only top-level definitions"
        )
    return ""


def unseen(fn: Callable[..., Any]) -> list[str]:
    """One line per thing ``fn`` needs that the grader would not have; [] when it has it all.

    Example::

        >>> unseen(len)
        []
    """
    if not callable(fn) or getattr(fn, "__code__", None) is None:
        return []
    cells = _sources(fn)
    if not cells:
        return []  # source unknown: nothing to say
    status = _where(cells)
    lines = []
    for name in needs(fn):
        if name in GIVEN or hasattr(builtins, name):
            continue
        if name not in status:
            lines.append(
                f"`{name}` exists only in this kernel: no cell binds it now (renamed, deleted, or "
                "made by exec), so the grader will not have it"
            )
        elif status[name]:
            lines.append(f"`{name}` {status[name]}: the grader will not have it")
    return lines
