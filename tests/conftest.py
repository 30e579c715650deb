"""What the test modules share: the repository's paths, notebooks, the solutions' functions.

Test modules import these helpers (``from conftest import ROOT, ...``); the
repository's own ``conftest.py`` one folder up holds the settings for every
collected file (doctests, notebooks).
"""

import itertools
import json
import linecache
import math
import re
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import d2lcnn
from d2lcnn import build
from d2lcnn.grading.compare import compare

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
STUDENT = ROOT / "notebooks"
STUB = build.CODE_STUB[-1]  # "raise NotImplementedError()"


@cache
def _read(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


def cells(notebook, folder="solutions"):
    """The cells of ``notebook`` (a stem such as ``"02_conv_layer"`` or a repository path)."""
    return _read(ROOT / folder / f"{Path(notebook).stem}.ipynb")


def sources(notebook, folder="solutions"):
    """Each cell's source as one string, in order."""
    return ["".join(c["source"]) for c in cells(notebook, folder)]


def defining_cells(notebook, name, folder="solutions"):
    """Indices of the code cells that start by defining ``name`` (``def name(`` or ``class name``)."""
    return [
        i
        for i, (cell, src) in enumerate(zip(cells(notebook, folder), sources(notebook, folder)))
        if cell["cell_type"] == "code" and re.match(rf"(def|class) {name}\b", src)
    ]


def check_cell(name):
    """The self-check cell that follows every exercise's definition."""
    return f'd2lcnn.check("{name}", {name})'


_CELLS = itertools.count()


def run_cell(text, namespace=None):
    """Run ``text`` as a Jupyter cell would and return its namespace.

    The source is findable by ``linecache`` under a file name like ipykernel's,
    so ``inspect.getsource`` (and with it the self-check's static scan) sees
    it as in a notebook. Without ``namespace`` the cell sees the course
    preamble and every name ``d2lcnn`` exports.
    """
    filename = f"/tmp/ipykernel_test/{next(_CELLS)}.py"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    if namespace is None:
        exported = {k: v for k, v in vars(d2lcnn).items() if not k.startswith("_")}
        preamble = {"torch": torch, "nn": nn, "F": F, "math": math, "np": np, "d2lcnn": d2lcnn}
        namespace = {**exported, **preamble}
    namespace.setdefault("__name__", "__main__")
    exec(compile(text, filename, "exec"), namespace)
    return namespace


@cache
def solution(name):
    """Exercise ``name`` as its solution notebook defines it (run by :func:`run_cell`)."""
    notebook = d2lcnn.grading.load_all()[name].notebook
    found = defining_cells(notebook, name)
    assert len(found) == 1, f"{notebook}: expected one cell defining {name}, found {len(found)}"
    return run_cell(sources(notebook)[found[0]])[name]


def catches(exercise, wrong, seed=0, hidden_only=True):
    """Whether some case of ``exercise`` (a hidden one, by default) fails ``wrong``."""
    cases = exercise.cases(seed)
    for case in cases[len(exercise.public_cases) :] if hidden_only else cases:
        try:
            got = case.call(wrong)
        except Exception:
            return True
        if not compare(case.call(exercise.reference), got, exercise.rtol, exercise.atol)[0]:
            return True
    return False


def randint(gen, low, high):
    """An int in ``[low, high)`` drawn from the ``torch.Generator`` ``gen``."""
    return int(torch.randint(low, high, (1,), generator=gen))


def assert_close(got, want):
    """Equal as float64 within 1e-4 (the helpers run in float32)."""
    torch.testing.assert_close(
        torch.as_tensor(got).double(), torch.as_tensor(want).double(), rtol=1e-4, atol=1e-4
    )


def num_params(net):
    """How many numbers ``net`` learns."""
    return sum(p.numel() for p in net.parameters())


def conv_params(c_in, c_out, k):
    """Parameters of a k x k convolution with a bias, by formula."""
    return c_in * c_out * k * k + c_out


def dense_params(n_in, n_out):
    """Parameters of a dense layer with a bias, by formula."""
    return n_in * n_out + n_out
