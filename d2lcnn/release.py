"""``d2lcnn release OUT_DIR``: what students get, and a check that it holds no solution.

The release is the student notebooks, the package, a README for students and
the environment files; never ``solutions/``, the tests (whose corpus holds
correct answers), the examples, a grading seed or a grades folder.

The package needs care: the chapter modules generated from ``solutions/`` save
the answers of some graded exercises (``corr2d``, ``pool2d``, ...), since later
chapters build on them. In the release each of those functions keeps its
signature and docstring, and its body calls the grader's reference
(:mod:`d2lcnn.grading.stand_in`), built on the library operation the exercise
forbids: later notebooks still run, and no answer ships.

Then every file of the release is searched for the text of every solution
region (``### BEGIN SOLUTION`` ... ``### END SOLUTION``) and of every
``solution-only`` cell: a line of at least :data:`MIN_LINE` characters that the
student notebooks do not show anyway is a leak, and the release is refused.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import build

# What a student release holds, besides the notebooks and the package.
TOP_FILES = ("pyproject.toml", "environment.yml", "LICENSE", "course")
MIN_LINE = 20  # shorter lines (`return Y`, `for _ in range(4):`) are common code, not an answer
SECRETS = (".grading-seed", "seed")
# The self-check (d2lcnn.check) computes expected values with the grader's references, so they
# ship. Solution text found there is reported, not refused: see Release.in_references.
REFERENCES = "d2lcnn/grading/exercises/"
STAND_IN_NOTE = (
    "# Student release: the bodies of graded exercises' answers are replaced by the grader's\n"
    "# reference (d2lcnn/grading/stand_in.py), built on the library op the exercise forbids.\n"
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
(forbidden). The stand-ins are: {stand_ins}.
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
    # solution lines found in the self-check's references (d2lcnn/grading/exercises/): the
    # module exercises' references are built like their answers; shipped, and said so
    in_references: list[str] = field(default_factory=list)


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


def leaks(root: Path, folder: Path) -> tuple[list[str], int]:
    """Solution lines found in ``folder``: ``["file: line (from where)"]``, and how many were checked.

    A line counts when it has at least :data:`MIN_LINE` characters and the student
    notebooks (``notebooks/``) do not contain it: what they show is no secret.
    """
    public: set[str] = set()
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            public |= _lines(build.source(cell))
    secret: dict[str, str] = {}
    for where, text in solution_texts(root).items():
        for line in _lines(text):
            if len(line) >= MIN_LINE and line not in public:
                secret.setdefault(line, where)
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if path.suffix == ".ipynb":  # compare cell text, not JSON-escaped strings
            text = "\n".join(build.source(c) for c in json.loads(text)["cells"])
        for line in _lines(text) & secret.keys():
            found.append(f"{path.relative_to(folder)}: {line!r} (from {secret[line]})")
    return found, len(secret)


def strip_answers(text: str, graded: set[str]) -> tuple[str, list[str]]:
    """A chapter module's text with each graded function's body replaced by its stand-in.

    Example::

        >>> src = 'def corr2d(X, K):\\n    \"\"\"Doc.\"\"\"\\n    h, w = K.shape\\n    return X\\n'
        >>> new, names = strip_answers(src, {"corr2d"})
        >>> names, "K.shape" in new, 'return stand_in("corr2d", X, K)' in new
        (['corr2d'], False, True)
    """
    tree = ast.parse(text)
    lines = text.splitlines()
    cuts: list[tuple[int, int | None, list[str], str]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in graded:
            first = node.body[0]
            has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            start = (node.body[1] if has_doc and len(node.body) > 1 else first).lineno
            if has_doc and len(node.body) == 1:
                start = (first.end_lineno or first.lineno) + 1
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
            cuts.append((start, node.end_lineno, body, node.name))
        elif isinstance(node, ast.ClassDef) and node.name in graded:
            body = [
                "from d2lcnn.grading.registry import load_all  # noqa: E402",
                "",
                f'{node.name} = load_all()["{node.name}"].reference',
            ]
            top = min([node.lineno] + [d.lineno for d in node.decorator_list])
            cuts.append((top, node.end_lineno, body, node.name))
    for start, end, body, _ in sorted(cuts, reverse=True):
        lines[start - 1 : end] = body
    names = sorted(name for *_, name in cuts)
    if names:
        at = next((i for i, ln in enumerate(lines) if ln.startswith('"""')), 0)  # module doc
        lines.insert(at, STAND_IN_NOTE.rstrip("\n"))
    return "\n".join(lines) + "\n", names


def _copy_package(root: Path, folder: Path, graded: set[str], made: Release) -> None:
    for path in sorted((root / "d2lcnn").rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root)
        text = path.read_text(encoding="utf-8")
        if rel.parent == build.CHAPTERS and path.name != "__init__.py":
            text, names = strip_answers(text, graded)
            made.stand_ins += names
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        made.files.append(target)


def release(root: str | os.PathLike, out: str | os.PathLike) -> Release:
    """Write the student release of the course at ``root`` into ``out`` and check it.

    Raises:
        ReleaseError: ``out`` is not empty, the generated files are out of date, or a
            solution's text would ship (then ``out`` is removed).
    """
    from .grading.registry import load_all

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
        _copy_package(root, folder, set(load_all()), made)
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
        made.in_references = [f for f in found if f.startswith(REFERENCES)]
        found = [f for f in found if not f.startswith(REFERENCES)]
        found += [f"{p.relative_to(folder)}: a secret or solutions file" for p in secrets]
        if found:
            raise ReleaseError(
                "the release would contain solution text:\n  " + "\n  ".join(found[:20])
            )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return made
