"""``d2lcnn release OUT_DIR``: what students get, and a check that it holds no solution.

The release is the student notebooks, the package, a README for students and
the environment files; never ``solutions/``, the tests (whose corpus holds
correct answers), the examples, a grading seed or a grades folder.

The package needs care: the chapter modules generated from ``solutions/`` save
the answers of some graded exercises (``corr2d``, ``pool2d``, ``vgg_block``, ...),
since later chapters build on them. In the release each of those keeps its
signature and docstring; a function exercise's body calls its library form
(:mod:`d2lcnn.grading.stand_in`, built on the operation the exercise forbids), so
later notebooks still run, and a module exercise (whose reference would be the
answer) raises an error that says where to write it. The grader's exercise
definitions (``d2lcnn/grading/exercises/``: references, known mistakes, hidden
cases) do not ship: the self-check reads the public cases' expected values, and
the known mistakes' values on them, from a table computed at release time
(:func:`d2lcnn.grading.registry.record`).

Then every file of the release is searched for every line of every solution
region (``### BEGIN SOLUTION`` ... ``### END SOLUTION``), ``solution-only`` cell,
graded definition saved in ``d2lcnn/chapters/`` and grader reference: a line of
at least :data:`MIN_LINE` characters that the student notebooks do not show
anyway is a leak, and the release is refused.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import shutil
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from . import build

# What a student release holds, besides the notebooks and the package.
TOP_FILES = ("pyproject.toml", "environment.yml", "LICENSE", "course")
MIN_LINE = 20  # shorter lines (`return Y`, `for _ in range(4):`) are common code, not an answer
SECRETS = (".grading-seed", "seed")
# The grader's exercise definitions: their references and known mistakes are code that
# answers the exercises, so only their recorded values ship (d2lcnn/grading/recorded.pt).
EXERCISES = Path("d2lcnn") / "grading" / "exercises"
STAND_IN_NOTE = (
    "# Student release: a graded function's body calls its library form (d2lcnn/grading/\n"
    "# stand_in.py, built on the op the exercise forbids); a graded module raises instead.\n"
)

STUDENT_README = """# {title}: the student release

Jupyter notebooks for the convolutional-network chapters of *Dive into Deep Learning*,
with the `d2lcnn` package they import.

## Start

On Linux or macOS with Python 3.10 or newer:

```bash
./course lab
```

sets up `.venv` the first time, copies the notebooks into `workspace/` (your own copies:
course updates never overwrite a notebook you edited) and opens JupyterLab on them. With
conda instead: `conda env create -f environment.yml && conda activate d2lcnn`, then
`pip install -e .` and `d2lcnn lab`.

## Exercises

Each graded exercise is a function with a stated signature. Replace
`raise NotImplementedError()` with your code; the cell after it runs the self-check on
the public cases (`d2lcnn.check("corr2d", corr2d)`), and the last cell of every notebook
(`d2lcnn.check_all()`) says where you stand. The grader also runs hidden cases. Hand in
the notebook itself (`workspace/NN_name.ipynb`).

## What the package holds

Later notebooks import earlier chapters' functions from `d2lcnn` (`from d2lcnn import
corr2d`). Where such a function is itself a graded exercise, this release's version is a
stand-in: it calls the grader's reference, built on the library operation the exercise
asks you not to use (`F.conv2d` for `corr2d`). It works, so later chapters run, but it is
not an answer: calling `d2lcnn.corr2d` or copying its code into your exercise scores 0
(forbidden). A graded block or layer (`d2lcnn.vgg_block`, `d2lcnn.Residual`, ...) is not
included at all: it raises an error that names the notebook where you write your own. The
stand-ins are: {stand_ins}.
"""


class ReleaseError(Exception):
    """The release cannot be made, or would leak a solution; the message says what to do."""


@dataclass
class Release:
    """What ``release`` wrote: the folder, its files, the stand-ins, the lines it checked."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    stand_ins: list[str] = field(default_factory=list)
    checked_lines: int = 0


def solution_texts(root: Path) -> dict[str, str]:
    """``{where: text}`` of every solution region and ``solution-only`` cell in ``solutions/``."""
    texts = {}
    for path in sorted((root / "solutions").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            src = build.source(cell)
            where = f"{path.name}, cell {i}"
            if build.SOLUTION_ONLY in cell.get("metadata", {}).get("tags", []):
                texts[where] = src
                continue
            region: list[str] = []
            inside = False
            for line in src.splitlines():
                mark = line.strip()
                if mark == build.BEGIN:
                    inside = True
                elif mark == build.END:
                    inside = False
                    texts[f"{where}, region {len(texts)}"] = "\n".join(region)
                    region = []
                elif inside:
                    region.append(line)
    return texts


def _lines(text: str) -> set[str]:
    return {ln.strip() for ln in text.splitlines() if ln.strip()}


def graded_code(root: Path) -> dict[str, str]:
    """``{where: text}`` of the code that answers a graded exercise, outside ``solutions/``.

    That is each graded definition saved in ``d2lcnn/chapters/`` (generated from
    the ``#@save`` cells; the body, as the notebooks show the header and docstring) and
    each grader reference or known mistake written as a
    function or class, except the library forms that ship as stand-ins.
    """
    from .grading.registry import load_all
    from .grading.stand_in import LIBRARY

    exercises = load_all()
    texts = {}
    for path in sorted((root / build.CHAPTERS).glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.parse("\n".join(lines)).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in exercises:
                # the body: the header and docstring are what the student notebooks show
                body = lines[_body_start(node) - 1 : node.end_lineno]
                texts[f"{build.CHAPTERS / path.name}, {node.name}"] = "\n".join(body)
    shipped = set(LIBRARY.values())
    for name, exercise in exercises.items():
        fns = [exercise.reference] + [fn for fn, _ in exercise.mistakes.values()]
        for fn in fns:
            fn = getattr(fn, "func", fn)  # a partial of a reference is that reference
            if fn in shipped:
                continue
            try:
                source = inspect.getsource(fn).splitlines()
            except (OSError, TypeError):
                continue  # built-in or generated: no text to leak
            parsed: ast.stmt | None = None
            try:
                parsed = ast.parse(textwrap.dedent("\n".join(source))).body[0]
            except SyntaxError:  # a lambda's line, cut from its statement: all of it counts
                pass
            if isinstance(parsed, (ast.FunctionDef, ast.ClassDef)):  # its body: a signature
                source = source[_body_start(parsed) - 1 :]  # (`gamma: torch.Tensor,`) is no answer
            texts[f"the grader's {name} ({fn.__module__}.{fn.__name__})"] = "\n".join(source)
    return texts


def leaks(root: Path, folder: Path) -> tuple[list[str], int]:
    """Solution lines found in ``folder``: ``["file: line (from where)"]``, and how many were checked.

    The lines come from :func:`solution_texts` and :func:`graded_code`. A line
    counts when it has at least :data:`MIN_LINE` characters and the student
    notebooks (``notebooks/``) do not contain it: what they show is no secret.
    """
    public: set[str] = set()
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            public |= _lines(build.source(cell))
    secret: dict[str, str] = {}
    for where, text in {**solution_texts(root), **graded_code(root)}.items():
        for line in _lines(text):
            if len(line) >= MIN_LINE and line not in public:
                secret.setdefault(line, where)
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary: the recorded table holds tensors, no text
        if path.suffix == ".ipynb":  # compare cell text, not JSON-escaped strings
            text = "\n".join(build.source(c) for c in json.loads(text)["cells"])
        for line in sorted(_lines(text) & secret.keys()):
            found.append(f"{path.relative_to(folder)}: {line!r} (from {secret[line]})")
    return found, len(secret)


def _body_start(node: ast.FunctionDef | ast.ClassDef) -> int:
    """The first line after the definition's header and docstring."""
    first = node.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    if not has_doc:
        return first.lineno
    return (first.end_lineno or first.lineno) + 1


def strip_answers(text: str, graded: dict[str, str]) -> tuple[str, list[str]]:
    """A chapter module's text with each graded definition's body replaced by its stand-in.

    Args:
        text: the chapter module's source.
        graded: ``{exercise name: notebook that poses it}``.

    Returns:
        The new text and the names replaced. A function with a library form
        (:data:`d2lcnn.grading.stand_in.LIBRARY`) calls it; any other graded
        function or class keeps its header and docstring and raises
        (:func:`d2lcnn.grading.stand_in.missing`).

    Example::

        >>> src = 'def corr2d(X, K):\\n    \"\"\"Doc.\"\"\"\\n    h, w = K.shape\\n    return X\\n'
        >>> new, names = strip_answers(src, {"corr2d": "02_conv_layer.ipynb"})
        >>> names, "K.shape" in new, 'return stand_in("corr2d", X, K)' in new
        (['corr2d'], False, True)
        >>> src = 'class Residual:\\n    \"\"\"Doc.\"\"\"\\n    def forward(self, X):\\n        return X\\n'
        >>> new, _ = strip_answers(src, {"Residual": "13_resnet.ipynb"})
        >>> "return X" in new, 'missing("Residual", "13_resnet.ipynb")' in new
        (False, True)
    """
    from .grading.stand_in import LIBRARY

    tree = ast.parse(text)
    lines = text.splitlines()
    cuts: list[tuple[int, int | None, list[str], str]] = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name not in graded:
            continue
        raise_it = f'missing("{node.name}", "{graded[node.name]}")'
        if isinstance(node, ast.ClassDef):
            body = [
                "    def __init__(self, *args, **kwargs):",
                "        from d2lcnn.grading.stand_in import missing",
                "",
                f"        {raise_it}",
            ]
        elif node.name in LIBRARY:
            a = node.args
            call = [x.arg for x in (*a.posonlyargs, *a.args)]
            call += [f"*{a.vararg.arg}"] if a.vararg else []
            call += [f"{x.arg}={x.arg}" for x in a.kwonlyargs]
            call += [f"**{a.kwarg.arg}"] if a.kwarg else []
            body = [
                "    from d2lcnn.grading.stand_in import stand_in",
                "",
                f'    return stand_in("{node.name}", {", ".join(call)})',
            ]
        else:
            body = ["    from d2lcnn.grading.stand_in import missing", "", f"    {raise_it}"]
        if _body_start(node) > (node.end_lineno or 0):  # only a docstring: nothing to cut
            body = [""] + body
        cuts.append((_body_start(node), node.end_lineno, body, node.name))
    for start, end, body, _ in sorted(cuts, reverse=True):
        lines[start - 1 : end] = body
    names = sorted(name for *_, name in cuts)
    if names:
        at = next((i for i, ln in enumerate(lines) if ln.startswith('"""')), 0)  # module doc
        lines.insert(at, STAND_IN_NOTE.rstrip("\n"))
    return "\n".join(lines) + "\n", names


def _copy_package(root: Path, folder: Path, made: Release) -> None:
    import torch

    from .grading.registry import RECORDED, load_all, record

    exercises = load_all()
    graded = {name: Path(e.notebook).name for name, e in exercises.items()}
    for path in sorted((root / "d2lcnn").rglob("*.py")):
        rel = path.relative_to(root)
        if "__pycache__" in path.parts or (rel.parent == EXERCISES and path.name != "__init__.py"):
            continue
        text = path.read_text(encoding="utf-8")
        if rel.parent == build.CHAPTERS and path.name != "__init__.py":
            text, names = strip_answers(text, graded)
            made.stand_ins += names
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        made.files.append(target)
    target = folder / "d2lcnn" / "grading" / RECORDED.name
    torch.save({name: record(e) for name, e in exercises.items()}, target)
    made.files.append(target)


def release(root: str | os.PathLike, out: str | os.PathLike) -> Release:
    """Write the student release of the course at ``root`` into ``out`` and check it.

    Raises:
        ReleaseError: ``out`` is not empty, the generated files are out of date, or a
            solution's text would ship (then ``out`` is removed).
    """
    root, folder = Path(root), Path(out)
    if folder.exists() and any(folder.iterdir()):
        raise ReleaseError(f"{folder}: not empty; pick a new folder (the release fills it)")
    drift = build.drift(root)
    if drift:
        raise ReleaseError(
            "generated files are out of date with solutions/ ("
            + "; ".join(drift[:3])
            + "); run `d2lcnn build` first"
        )
    folder.mkdir(parents=True, exist_ok=True)
    made = Release(folder)
    try:
        for nb in sorted((root / "notebooks").glob("*.ipynb")):
            target = folder / "notebooks" / nb.name
            target.parent.mkdir(exist_ok=True)
            shutil.copy2(nb, target)
            made.files.append(target)
        for name in TOP_FILES:
            if (root / name).exists():
                shutil.copy2(root / name, folder / name)
                made.files.append(folder / name)
        _copy_package(root, folder, made)
        title = "d2lcnn"
        (folder / "README.md").write_text(
            STUDENT_README.format(
                title=title, stand_ins=", ".join(f"`{n}`" for n in made.stand_ins) or "none"
            ),
            encoding="utf-8",
        )
        made.files.append(folder / "README.md")
        secrets = [p for p in folder.rglob("*") if p.name in SECRETS or p.name == "solutions"]
        found, made.checked_lines = leaks(root, folder)
        found += [f"{p.relative_to(folder)}: a secret or solutions file" for p in secrets]
        if found:
            raise ReleaseError(
                f"refused: the release would contain solution text ({len(found)} line(s)), so "
                f"{folder} was removed:\n  "
                + "\n  ".join(found[:20])
                + ("\n  ..." if len(found) > 20 else "")
                + "\nTake that text out of the named file (for a generated file, out of its "
                "source in solutions/, then `d2lcnn build`), or make the file a stand-in, "
                "and run `d2lcnn release` again."
            )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return made
