"""Pull the gradable definitions out of a submission (.ipynb or .py).

Only top-level ``def``, ``class``, ``import`` and simple assignments (no calls:
constants and aliases such as ``c = F.conv2d``) are kept, so training,
plotting and other cells never run; an assignment that reads a name only a
dropped statement built (``lr = setting.lr``) is dropped too. IPython magics
and shell lines are dropped. Each kept statement remembers its cell and line, so an error in the
student's code can point at the line they wrote.
"""

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .protocol import Source

# What every submission sees before its own code, as in the course notebooks.
PREAMBLE = (
    "import math\nimport numpy as np\nimport torch\nfrom torch import nn\n"
    "from torch.nn import functional as F\nimport d2lcnn\n"
)
# Larger files are refused before parsing (a notebook's outputs make it large: clearing them
# brings any honest submission far below this).
MAX_FILE_BYTES = 2 * 2**20


class Unreadable(Exception):
    """A file that is neither a notebook nor Python source: not graded."""


@dataclass
class Chunk:
    """One cell (or the whole .py file) and which of its top-level statements run."""

    filename: str  # "cell 5" or "alice.py", as tracebacks name it
    text: str  # the source, magics blanked out (line numbers unchanged)
    keep: list[int]  # indices into ast.parse(text).body
    tree: ast.Module = field(repr=False, compare=False)

    def kept(self) -> list[ast.stmt]:
        return [self.tree.body[i] for i in self.keep]

    def to_source(self) -> Source:
        """What the sandboxed child needs of it (see protocol.py)."""
        return Source(self.filename, self.text, tuple(self.keep))


@dataclass
class Submission:
    path: Path
    sha256: str
    notebook: str | None  # metadata.d2lcnn.generated_from, e.g. "solutions/02_conv_layer.ipynb"
    chunks: list[Chunk]
    syntax_errors: list[str]  # "cell 4, line 2: invalid syntax"
    broken_defs: dict[str, str]  # name -> syntax error of the cell that defines it

    def defined(self) -> set[str]:
        """Top-level names the student binds by def, class or assignment (not by importing)."""
        names = set()
        for chunk in self.chunks:
            for node in chunk.kept():
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names.update(n for t in targets for n in _names(t) if n)
        return names

    def line(self, filename: str, lineno: int) -> str:
        """The text of line ``lineno`` of ``filename`` (a cell or the file), stripped."""
        for chunk in self.chunks:
            if chunk.filename == filename:
                lines = chunk.text.splitlines()
                if 1 <= lineno <= len(lines):
                    return lines[lineno - 1].strip()
        return ""


def _has_effects(value: ast.AST) -> bool:
    """True if evaluating ``value`` could run code: calls, awaits, yields, comprehensions."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Lambda):
            continue  # a lambda's body runs only when called
        if isinstance(
            node,
            (
                ast.Call,
                ast.Await,
                ast.Yield,
                ast.YieldFrom,
                ast.NamedExpr,
                ast.ListComp,
                ast.SetComp,
                ast.DictComp,
                ast.GeneratorExp,
            ),
        ):
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _names(target: ast.expr) -> list[str | None]:
    """The names an assignment target binds; None stands for a non-name (`X[0]`, `net.w`)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for t in target.elts for n in _names(t)]
    return [None]


def bound(node: ast.stmt) -> list[str]:
    """The top-level names a statement binds (for, with, if and try: the names bound inside)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    names: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.append(sub.id)
        elif sub is not node and isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
            names.append(sub.name)
    return names


def _reads(value: ast.AST) -> set[str]:
    """The names evaluating ``value`` reads now (a lambda's body reads only when called)."""
    names, stack = set(), [value]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return names


def drop_dependents(chunks: list["Chunk"]) -> None:
    """Unkeep the assignments that read a name which, at that point, only a statement the
    grader does not run has bound (``lr = setting.lr`` after ``setting = training_setting()``):
    run, they could only raise a NameError that the feedback would blame on the student."""
    unbound: set[str] = set()
    for chunk in chunks:
        keep = set(chunk.keep)
        for i, node in enumerate(chunk.tree.body):
            value = getattr(node, "value", None)
            if i in keep and isinstance(node, (ast.Assign, ast.AnnAssign)) and value is not None:
                if _reads(value) & unbound:
                    keep.discard(i)
            names = bound(node)
            if i in keep:
                unbound.difference_update(names)
            else:
                unbound.update(names)
        chunk.keep = sorted(keep)


def _keep(node: ast.stmt) -> bool:
    if isinstance(
        node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    ):
        return not (isinstance(node, ast.ImportFrom) and node.level)  # relative imports cannot work
    if isinstance(node, ast.Assign):  # `name = value` only: `X[0] = 1` or `net.w = v` change state
        return all(n is not None for t in node.targets for n in _names(t)) and not _has_effects(
            node.value
        )
    if isinstance(node, ast.AnnAssign):
        return (
            node.value is not None
            and isinstance(node.target, ast.Name)
            and not _has_effects(node.value)
        )
    return False


_MAGIC = re.compile(r"^\s*(%|!)")
_DEF = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)", re.M)


def _chunk(
    filename: str, text: str, syntax_errors: list[str], broken_defs: dict[str, str]
) -> Chunk | None:
    if text.lstrip().startswith("%%"):
        return None  # a cell magic (%%time, %%bash, %%writefile): not plain Python
    text = "\n".join("" if _MAGIC.match(line) else line for line in text.split("\n"))
    try:
        tree = ast.parse(text, filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        where = f"{filename}, line {getattr(e, 'lineno', None) or '?'}"
        message = f"{where}: {getattr(e, 'msg', None) or type(e).__name__}"
        syntax_errors.append(message)
        for name in _DEF.findall(text):
            broken_defs.setdefault(name, message)
        return None
    keep = [i for i, node in enumerate(tree.body) if _keep(node)]
    return Chunk(filename, text, keep, tree)


def _notebook_cells(path: Path, raw: bytes) -> tuple[str | None, list[tuple[str, str]]]:
    try:
        nb = json.loads(raw)
    except RecursionError:
        raise Unreadable(
            f"{path}: its JSON is nested too deeply to be a notebook; ask the student to upload "
            "the notebook Jupyter saved"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        where = f" (line {e.lineno})" if isinstance(e, json.JSONDecodeError) else ""
        raise Unreadable(
            f"{path}: not valid JSON{where}; open and save it again in Jupyter, "
            "or ask the student to upload it again"
        ) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise Unreadable(
            f"{path}: not a Jupyter notebook (no list of cells; nbformat 4 expected); "
            "open and save it again in Jupyter"
        )
    meta = nb.get("metadata")
    ours = meta.get("d2lcnn") if isinstance(meta, dict) else None
    origin = ours.get("generated_from") if isinstance(ours, dict) else None
    cells = []
    for n, cell in enumerate(nb["cells"], 1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(line for line in source if isinstance(line, str))
            cells.append((f"cell {n}", source if isinstance(source, str) else ""))
    return (origin if isinstance(origin, str) else None), cells


def read_submission(path: str | Path) -> Submission:
    """A :class:`Submission` from a notebook or Python file.

    Args:
        path: a ``.ipynb`` or ``.py`` file.

    Raises:
        Unreadable: the file cannot be read, is not JSON, or is not a notebook.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:  # at most one byte more than allowed, whatever its size
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise Unreadable(
            f"{path}: cannot be read ({e.strerror}); check the path and its permissions"
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise Unreadable(
            f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB, not read; clear its outputs "
            "(Edit > Clear Outputs of All Cells), save and upload it again"
        )
    if path.suffix == ".ipynb":
        notebook, cells = _notebook_cells(path, raw)
    else:
        try:
            cells, notebook = [(path.name, raw.decode("utf-8-sig"))], None
        except UnicodeDecodeError:
            raise Unreadable(f"{path}: not UTF-8 text; save it as UTF-8 Python source") from None
    syntax_errors: list[str] = []
    broken_defs: dict[str, str] = {}
    chunks = [c for name, text in cells if (c := _chunk(name, text, syntax_errors, broken_defs))]
    drop_dependents(chunks)
    return Submission(
        path, hashlib.sha256(raw).hexdigest(), notebook, chunks, syntax_errors, broken_defs
    )
