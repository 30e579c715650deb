"""Similarity flags: which students' exercise functions are copies of each other or of the course's.

A function's fingerprint ignores what a copier changes to hide a copy: names
(every local variable, argument and helper becomes ``V``), comments,
docstrings, formatting, and the order of independent statements (each block
is put in one canonical order that keeps every dependency). The normalised
token stream is cut into k-grams whose hashes are winnowed as MOSS does
(Schleimer, Wilkerson and Aiken, 2003); two functions' similarity is the
Jaccard index of their fingerprints. Helpers the function calls (top-level
functions of the same submission that are not exercises) are part of it.

Flags never change a score: they point the instructor at submissions to read.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

K_GRAM = 5  # tokens per k-gram
WINDOW = 4  # k-grams per winnowing window
THRESHOLD = 0.8  # similarity from which two functions are "near-identical"
MIN_TOKENS = 40  # shorter functions (one-line einsums) are alike by necessity: never flagged
CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"  # the generated chapter modules
DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)  # what an exercise can be
_BARRIERS = (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Global, ast.Nonlocal, ast.Expr)


@dataclass
class Fingerprint:
    """One exercise function of one submission: its source, tokens and winnowed hashes."""

    owner: str  # the result file's stem
    source: str  # the function and the helpers it calls, as written
    tokens: list[str] = field(repr=False)
    hashes: frozenset[int] = field(repr=False)


def _locals(fn: ast.AST) -> set[str]:
    """Names a function binds: arguments, assignment targets, loop and comprehension variables."""
    names = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            names.add(node.attr)  # a module's layers: self.conv1 = ...
    return names


def _tokens(node: ast.AST, generic: set[str]) -> Iterator[str]:
    """The node's pre-order token stream: node types, kept names, attributes, constants."""
    yield type(node).__name__
    if isinstance(node, ast.Name):
        yield "V" if node.id in generic else node.id
    elif isinstance(node, ast.Attribute):
        yield "V" if node.attr in generic else node.attr  # a module's own attributes
    elif isinstance(node, ast.Constant):
        yield repr(node.value)
    elif isinstance(node, ast.keyword) and node.arg:
        yield node.arg
    for name, value in ast.iter_fields(node):
        if name == "ctx":
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                yield from _tokens(child, generic)


def _reads_writes(stmt: ast.stmt) -> tuple[set[str], set[str]]:
    reads: set[str] = set()
    writes: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else writes).add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(
            node.ctx, (ast.Store, ast.Del)
        ):
            base = node.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                writes.add(base.id)  # Y[i, j] = ... changes Y
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if isinstance(node.func.value, ast.Name):
                writes.add(node.func.value.id)  # x.append(...), Y.add_(...) may change x
    return reads, writes


def _canonical(body: list[ast.stmt], generic: set[str]) -> list[ast.stmt]:
    """``body`` in one order that keeps every dependency: of the statements free to go next,
    the smallest by normalised text. Control flow and bare expressions stay where they are."""
    for stmt in body:
        for name in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, name, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(stmt, name, _canonical(inner, generic))
    effects = [_reads_writes(s) for s in body]
    keys = [" ".join(_tokens(s, generic)) for s in body]
    after: list[set[int]] = [set() for _ in body]
    for j, (rj, wj) in enumerate(effects):
        for i in range(j):
            ri, wi = effects[i]
            if (
                wi & (rj | wj)
                or wj & ri
                or isinstance(body[i], _BARRIERS)
                or isinstance(body[j], _BARRIERS)
            ):
                after[j].add(i)
    ready = [(keys[j], j) for j in range(len(body)) if not after[j]]
    heapq.heapify(ready)
    order, placed = [], set()
    while ready:
        _, i = heapq.heappop(ready)
        order.append(body[i])
        placed.add(i)
        for j in range(len(body)):
            if j not in placed and i in after[j]:
                after[j].discard(i)
                if not after[j]:
                    heapq.heappush(ready, (keys[j], j))
    return order


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            kept = [
                s
                for s in body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            ]
            setattr(node, "body", kept or [ast.Pass()])  # noqa: B010 - any node with a body


def normalise(source: str, name: str, keep: Iterable[str] = ()) -> list[str]:
    """The token stream of function ``name`` in ``source``, names and order normalised.

    Args:
        source: Python source with a top-level ``def name``, and perhaps helpers it calls.
        name: the function.
        keep: names that stay as they are (other exercises the function may call).

    Example::

        >>> a = "def f(X):\\n    a = X + 1\\n    b = X * 2  # twice\\n    return a - b"
        >>> b = "def f(Z):\\n    '''doc'''\\n    q = Z * 2\\n    p = Z + 1\\n    return p - q"
        >>> normalise(a, "f") == normalise(b, "f")
        True
    """
    tree = ast.parse(source)
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = {
        n.name: n for n in tree.body if isinstance(n, DEFS)
    }
    keep = set(keep)
    chosen: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = []
    todo = [name]
    while todo:  # the function, then every helper it calls, transitively
        fn = defs.get(todo.pop())
        if fn is None or fn in chosen:
            continue
        chosen.append(fn)
        todo += [
            n.id
            for n in ast.walk(fn)
            if isinstance(n, ast.Name) and n.id in defs and n.id not in keep
        ]
    if not chosen:
        return []
    parts = []
    for i, fn in enumerate(chosen):
        _strip_docstrings(fn)
        generic = (_locals(fn) | set(defs)) - keep
        fn.body = _canonical(fn.body, generic)
        toks = list(_tokens(fn, generic))
        parts.append((i > 0, " ".join(toks), toks))
    parts.sort(key=lambda p: p[:2])  # the function first, then its helpers in canonical order
    return [t for _, _, toks in parts for t in toks]


def winnow(tokens: list[str], k: int = K_GRAM, window: int = WINDOW) -> frozenset[int]:
    """MOSS's fingerprint of a token stream: the minimum hash of every window of k-gram hashes.

    Example::

        >>> fp = winnow("a b c d e f g h i j".split())
        >>> 0 < len(fp) <= 6
        True
        >>> winnow("a b c d e f g h i j".split()) == fp
        True
    """
    grams = [
        int.from_bytes(
            hashlib.blake2b(" ".join(tokens[i : i + k]).encode(), digest_size=8).digest(),
            "big",  # the default from Python 3.11 on; 3.10 requires it
        )
        for i in range(max(0, len(tokens) - k + 1))
    ]
    if len(grams) <= window:
        return frozenset(grams)
    return frozenset(min(grams[i : i + window]) for i in range(len(grams) - window + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """The share of fingerprints two functions have in common (1.0: the same normalised code).

    Example::

        >>> jaccard(frozenset({1, 2, 3}), frozenset({2, 3, 4}))
        0.5
    """
    return len(a & b) / len(a | b) if a or b else 0.0


def fingerprint(owner: str, source: str, name: str, keep: Iterable[str] = ()) -> Fingerprint | None:
    """The fingerprint of ``name`` in ``source``; None if it is not there or does not parse."""
    found = _normalised(source, name, frozenset(keep))
    if found is None:
        return None
    tokens, hashes = found
    return Fingerprint(owner, source, tokens, hashes)


@functools.lru_cache(maxsize=4096)
def _normalised(
    source: str, name: str, keep: frozenset[str]
) -> tuple[list[str], frozenset[int]] | None:
    """Tokens and winnowed hashes, once per distinct source (copies are common in a class)."""
    try:
        tokens = normalise(source, name, keep)
    except (SyntaxError, ValueError, RecursionError):
        return None
    return (tokens, winnow(tokens)) if tokens else None


def _segment(lines: list[str], node: ast.stmt) -> str:
    """The source of a top-level statement (what ``ast.get_source_segment`` gives, without
    splitting the whole text again for every statement)."""
    return "\n".join(lines[node.lineno - 1 : node.end_lineno])


def function_source(chunks: Iterable[tuple[str, ast.Module]], name: str) -> str | None:
    """The source of top-level ``def name`` and of every other top-level def, from parsed cells.

    Args:
        chunks: ``(text, tree)`` of each cell (or file) of a submission, in order.
        name: the exercise function.

    Example::

        >>> text = "import torch\\n\\ndef h(x):\\n    return x\\n\\ndef f(X):\\n    return h(X)\\n"
        >>> print(function_source([(text, ast.parse(text))], "f"))
        def f(X):
            return h(X)
        <BLANKLINE>
        def h(x):
            return x
    """
    found, helpers = None, {}
    for text, tree in chunks:
        lines = text.splitlines()
        for node in tree.body:
            if isinstance(node, DEFS):
                if node.decorator_list:
                    continue  # decorated functions are not plain exercise code
                if node.name == name:
                    found = _segment(lines, node)
                else:
                    helpers[node.name] = _segment(lines, node)
    if found is None:
        return None
    return "\n\n".join([found, *(h for n, h in helpers.items() if n != name)])


def course_source(name: str) -> str | None:
    """The course package's own top-level function ``name``, as ``inspect.getsource`` gives it.

    Read from the generated chapter modules' files, so that no torch import is needed.

    Example::

        >>> course_source("corr2d").splitlines()[0]
        'def corr2d(X, K):'
        >>> course_source("no_such_function") is None
        True
    """
    for path in sorted(CHAPTERS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if f"def {name}(" not in text:
            continue
        for node in ast.parse(text).body:
            if isinstance(node, DEFS) and node.name == name:
                return ast.get_source_segment(text, node)
    return None


def _components(n: int, links: list[tuple[int, int]]) -> list[list[int]]:
    """The connected components of the graph on ``range(n)`` with edges ``links``.

    Example::

        >>> _components(5, [(0, 3), (3, 4)])
        [[0, 3, 4], [1], [2]]
    """
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in links:
        parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


@dataclass
class Cluster:
    """Submissions whose functions for one exercise are near-identical."""

    exercise: str
    members: list[Fingerprint]
    similarity: list[list[float]]  # pairwise, in ``members`` order

    @property
    def lowest(self) -> float:
        n = len(self.members)
        return min(self.similarity[i][j] for i in range(n) for j in range(n) if i != j)


@dataclass
class Findings:
    """Every flag of one grading run; flags never change a score."""

    clusters: list[Cluster] = field(default_factory=list)
    course_copies: list[tuple[str, Fingerprint, float]] = field(default_factory=list)
    nearest: dict[str, list[float]] = field(default_factory=dict)  # exercise -> each one's best


def analyse(
    functions: dict[str, list[Fingerprint]],
    course: dict[str, Fingerprint],
    threshold: float = THRESHOLD,
) -> Findings:
    """Course copies and clusters of near-identical functions, per exercise.

    Args:
        functions: ``{exercise: [fingerprints of the submissions that define it]}``.
        course: ``{exercise: the course package's own function's fingerprint}``.
        threshold: the similarity from which two functions are flagged.
    """
    found = Findings()
    for exercise, prints in sorted(functions.items()):
        ref = course.get(exercise)
        rest = []
        for fp in prints:
            s = jaccard(fp.hashes, ref.hashes) if ref else 0.0
            if ref and s >= threshold and len(fp.tokens) >= MIN_TOKENS:
                found.course_copies.append((exercise, fp, s))
            else:
                rest.append(fp)
        n = len(rest)
        sim = [[1.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(i + 1, n):
                sim[i][j] = sim[j][i] = jaccard(rest[i].hashes, rest[j].hashes)
        found.nearest[exercise] = [
            max((sim[i][j] for j in range(n) if j != i), default=0.0) for i in range(n)
        ]
        linked = [
            (i, j)
            for i in range(n)
            for j in range(i + 1, n)
            if sim[i][j] >= threshold
            and min(len(rest[i].tokens), len(rest[j].tokens)) >= MIN_TOKENS
        ]
        for members in _components(n, linked):
            if len(members) > 1:
                found.clusters.append(
                    Cluster(
                        exercise,
                        [rest[i] for i in members],
                        [[sim[i][j] for j in members] for i in members],
                    )
                )
    found.clusters.sort(key=lambda c: (c.exercise, -len(c.members), c.members[0].owner))
    return found


def from_records(
    records: dict[str, dict], exercises: Iterable[str]
) -> dict[str, list[Fingerprint]]:
    """``{exercise: fingerprints}`` of the graded submissions, read again from their files.

    Args:
        records: ``{result stem: result record}`` of one grading run.
        exercises: the exercise names (calls to these stay as they are).

    A submission whose file is gone or unreadable is left out.
    """
    from .extract import Unreadable, read_submission

    names = set(exercises)
    out: dict[str, list[Fingerprint]] = {}
    for stem, record in sorted(records.items()):
        try:
            sub = read_submission(record["submission"])
        except (Unreadable, KeyError, TypeError):
            continue
        chunks = [(c.text, c.tree) for c in sub.chunks]
        for name in record.get("exercises", {}):
            if record["exercises"][name].get("status") in ("missing", None) or name not in names:
                continue
            source = function_source(chunks, name)
            fp = fingerprint(stem, source, name, names - {name}) if source else None
            if fp:
                out.setdefault(name, []).append(fp)
    return out


def course_fingerprints(exercises: Iterable[str]) -> dict[str, Fingerprint]:
    """The course package's own functions of ``exercises`` that it has, fingerprinted."""
    names = set(exercises)
    out = {}
    for name in names:
        source = course_source(name)
        fp = fingerprint("d2lcnn", source, name, names - {name}) if source else None
        if fp:
            out[name] = fp
    return out
