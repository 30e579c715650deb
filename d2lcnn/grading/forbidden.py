"""Static check: does an exercise's code reach a forbidden library function?

Names are resolved through imports and aliases (``import torch.nn.functional as F;
F.conv2d``, ``from torch.nn.functional import conv2d as c``, ``c = F.conv2d``,
``getattr(F, "conv2d")``, ``vars(F)["conv2d"]``, ``importlib.import_module``)
and matched against the exercise's patterns. Only code reachable from the
exercise's function counts: a helper that calls ``F.conv2d`` to check an
answer elsewhere in the notebook is fine. The sandbox's tripwires catch what
slips past (``eval`` of a string, say).
"""

import ast
import builtins
import functools
import types
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .extract import Submission
    from .registry import Exercise

Statements = Sequence[tuple[str, ast.stmt]]  # (filename, top-level statement)
Hit = tuple[str, str, int]  # (dotted name, filename, line)

# The names the standard preamble (extract.PREAMBLE) binds.
PREAMBLE_ALIASES = {
    "torch": "torch",
    "nn": "torch.nn",
    "F": "torch.nn.functional",
    "math": "math",
    "np": "numpy",
    "d2lcnn": "d2lcnn",
}


def patterns_for(exercise: "Exercise") -> tuple[str, ...]:
    """The exercise's library patterns plus the course's own answers to it."""
    answers = [p for n in course_answers(exercise) for p in (f"d2lcnn.{n}", f"d2lcnn.*.{n}")]
    return tuple(exercise.forbidden) + reference_patterns(exercise.name) + tuple(answers)


def _names_used(code: types.CodeType) -> set[str]:
    """The global names a function's code (and the code nested in it) refers to."""
    names: set[str] = set()
    todo = [code]
    while todo:
        c = todo.pop()
        names.update(c.co_names)
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return names


def course_objects() -> dict[str, object]:
    """The course package's own functions and classes (``d2lcnn.corr2d``, ``d2lcnn.Conv2D``...)."""
    import d2lcnn

    return {
        name: value
        for name, value in vars(d2lcnn).items()
        if isinstance(value, (types.FunctionType, type))
        and str(getattr(value, "__module__", "")).startswith("d2lcnn.chapters")
    }


def _code_of(value: object) -> list[types.CodeType]:
    if isinstance(value, types.FunctionType):
        return [value.__code__]
    return [f.__code__ for f in vars(value).values() if isinstance(f, types.FunctionType)]


@functools.cache
def _all_answers() -> frozenset[str]:
    """Course functions named like a registered exercise, and every one that uses one."""
    from .registry import load_all

    objects = course_objects()
    uses = {n: set().union(*map(_names_used, _code_of(v))) for n, v in objects.items()}
    answers = {n for n in objects if n in load_all()}
    grew = True
    while grew:
        grew = False
        for name, used in uses.items():
            if name not in answers and used & answers:
                answers.add(name)
                grew = True
    return frozenset(answers)


def course_answers(exercise: "Exercise") -> tuple[str, ...]:
    """The course package's functions that count as the course's answer inside ``exercise``:
    every one that answers an exercise (its own or a sibling's) or is built on one, except the
    helpers it builds on (``exercise.course_helpers``), e.g. ``("Conv2D", "conv2d_true",
    "corr2d", "corr2d_multi_in", ...)`` for ``corr2d``."""
    return tuple(sorted(_all_answers() - set(exercise.course_helpers)))


def reference_patterns(name: str) -> tuple[str, ...]:
    """Handing back (or calling) the course package's own answer: ``d2lcnn.<name>``, the grader."""
    return (
        f"d2lcnn.{name}",
        f"d2lcnn.*.{name}",
        "d2lcnn.grading",
        "d2lcnn.grading.*",
        "d2lcnn.check",
    )


def matches(dotted: str, patterns: Sequence[str]) -> str | None:
    """The first pattern ``dotted`` (e.g. ``"torch.nn.functional.conv2d"``) matches, or None."""
    return next((p for p in patterns if fnmatchcase(dotted, p)), None)


def _bind_import(node: ast.AST, aliases: dict[str, str], stars: list[str]) -> None:
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.asname:
                aliases[a.asname] = a.name
            else:
                top = a.name.split(".")[0]
                aliases[top] = top
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        for a in node.names:
            if a.name == "*":
                stars.append(node.module)
            else:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"


def _const_str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def resolve(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The dotted name an expression stands for, if it can be told from the code; else None."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = resolve(node.value, aliases)
        return base and f"{base}.{node.attr}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = node.args
        if node.func.id == "getattr" and len(args) >= 2 and _const_str(args[1]):
            base = resolve(args[0], aliases)
            return base and f"{base}.{_const_str(args[1])}"
        if node.func.id == "__import__" and args and _const_str(args[0]):
            return _const_str(args[0])
    if (
        isinstance(node, ast.Call)
        and resolve(node.func, aliases) == "importlib.import_module"
        and node.args
    ):
        return _const_str(node.args[0])
    if isinstance(node, ast.Subscript) and _const_str(node.slice):
        target = node.value
        if isinstance(target, ast.Attribute) and target.attr == "__dict__":
            base = resolve(target.value, aliases)
        elif (
            isinstance(target, ast.Call)
            and isinstance(target.func, ast.Name)
            and target.func.id == "vars"
            and target.args
        ):
            base = resolve(target.args[0], aliases)
        else:
            base = None
        return base and f"{base}.{_const_str(node.slice)}"
    return None


def _module_scope(
    statements: Statements, known: dict[str, str] | None = None
) -> tuple[dict[str, str], list[str], dict[str, list[tuple[str, ast.stmt]]]]:
    """Aliases after running the top-level statements in order, star-imported modules, bindings."""
    aliases = {**PREAMBLE_ALIASES, **(known or {})}
    stars: list[str] = []
    bindings: dict[str, list[tuple[str, ast.stmt]]] = {}
    for filename, node in statements:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _bind_import(node, aliases, stars)
            names = [a.asname or a.name.split(".")[0] for a in node.names]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            aliases.pop(node.name, None)
            names = [node.name]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            value = node.value and resolve(node.value, aliases)
            for n in names:
                if value:
                    aliases[n] = value
                else:
                    aliases.pop(n, None)
        else:
            names = []  # binds nothing the scan follows
        for n in names:
            bindings.setdefault(n, []).append((filename, node))
    return aliases, stars, bindings


def _local_scope(func: ast.AST, aliases: dict[str, str]) -> dict[str, str]:
    """A function's aliases: the module's, with its parameters and local names shadowing them."""
    local = dict(aliases)
    if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = func.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
            if arg is not None:
                local.pop(arg.arg, None)
    for node in ast.walk(func):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _bind_import(node, local, [])
        elif isinstance(node, ast.Assign) and node is not func:
            value = resolve(node.value, local)
            for t in node.targets:
                if isinstance(t, ast.Name):
                    if value:
                        local[t.id] = value
                    else:
                        local.pop(t.id, None)
    return local


def scan(submission: "Submission", exercise_name: str, patterns: Sequence[str]) -> list[Hit]:
    """Forbidden uses reachable from ``exercise_name``: a list of ``(dotted name, filename, line)``.

    Args:
        submission: an :class:`~d2lcnn.grading.extract.Submission`.
        exercise_name: the top-level name to start from, e.g. ``"corr2d"``.
        patterns: fnmatch patterns of dotted names, e.g. ``"torch.nn.functional.conv*"``.
    """
    statements = [(c.filename, node) for c in submission.chunks for node in c.kept()]
    return scan_statements(statements, exercise_name, patterns)


def scan_statements(
    statements: Statements,
    exercise_name: str,
    patterns: Sequence[str],
    known: dict[str, str] | None = None,
) -> list[Hit]:
    """:func:`scan` on ``[(filename, top-level statement)]``; ``known``: more aliases (name -> dotted)."""
    aliases, stars, bindings = _module_scope(statements, known)
    found: dict[str, Hit] = {}

    def hit(dotted: str | None, filename: str, lineno: int) -> None:
        if dotted and matches(dotted, patterns):
            found.setdefault(dotted, (dotted, filename, lineno))

    if exercise_name in aliases:  # bound by an import or alias, e.g. `from d2lcnn import corr2d`
        where = bindings.get(exercise_name)
        filename, lineno = (where[-1][0], where[-1][1].lineno) if where else ("?", 0)
        hit(aliases[exercise_name], filename, lineno)
    todo, seen = [exercise_name], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        # the last definition is the one that runs
        for filename, top in bindings.get(name, [])[-1:]:
            if isinstance(top, (ast.Import, ast.ImportFrom)):
                continue
            local = _local_scope(top, aliases)
            for node in ast.walk(top):
                if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
                    hit(resolve(node, local), filename, getattr(node, "lineno", 0))
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    if node.id in bindings and node.id not in seen:
                        todo.append(node.id)
                    elif node.id not in local and not hasattr(builtins, node.id):
                        for module in stars:  # `from torch.nn.functional import *`
                            hit(f"{module}.{node.id}", filename, node.lineno)
    return sorted(found.values(), key=lambda f: (f[1], f[2]))
