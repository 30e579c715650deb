"""The student release: no solutions, no seed, no solution text; its package works with the
graded answers replaced by stand-ins, and its notebooks run to their first stub."""

import ast
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import d2lcnn.release as release_module
from d2lcnn import build
from d2lcnn.grading.registry import load_all
from d2lcnn.grading.stand_in import LIBRARY
from d2lcnn.release import MIN_LINE, ReleaseError, leaks, release

ROOT = Path(__file__).resolve().parents[1]
# every notebook: the cells before its first stub may use any stand-in, and a graded module's
# raises in the release
RUN = tuple(p.stem for p in sorted((ROOT / "notebooks").glob("*.ipynb")))
# graded exercises whose answer must not ship, functions and modules alike
GRADED = (
    "corr2d",
    "pool2d",
    "batch_norm",
    "vgg_block",
    "nin_block",
    "Inception",
    "Residual",
    "BatchNorm",
    "DenseBlock",
    "conv_block",
    "transition_block",
    "lenet",
)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release") / "course"
    return release(ROOT, folder)


def public_lines():
    """Every stripped line of the student notebooks: what students see anyway."""
    public = set()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in json.loads(nb.read_text())["cells"]:
            public |= {ln.strip() for ln in "".join(cell["source"]).splitlines()}
    return public


def long_lines(text):
    return {ln.strip() for ln in text.splitlines() if len(ln.strip()) >= MIN_LINE}


def answer_lines():
    """Every line of at least MIN_LINE characters between the solution markers, read here
    independently of d2lcnn.release."""
    lines = set()
    for path in (ROOT / "solutions").glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            text = "".join(cell["source"])
            for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", text, re.S):
                lines |= long_lines(region)
    return lines


def graded_code_lines():
    """``{exercise: lines}`` of the code that answers each graded exercise: the body of its
    ``#@save`` definition in solutions/ and the grader's reference, unless that reference is
    a library form that ships on purpose (d2lcnn.grading.stand_in.LIBRARY)."""
    exercises = load_all()
    found = {name: set() for name in exercises}
    for path in (ROOT / "solutions").glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            text = "".join(cell["source"])
            if cell["cell_type"] != "code" or "#@save" not in text:
                continue
            for node in ast.parse(text).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in found:
                    body = ast.get_source_segment(text, node).splitlines()[1:]  # not the header
                    found[node.name] |= long_lines("\n".join(body))
    for name, exercise in exercises.items():
        if exercise.reference not in LIBRARY.values():
            found[name] |= long_lines(inspect.getsource(exercise.reference))
    return found


def shipped_lines(folder):
    """``{file: its stripped lines}`` for every text file of the release (notebooks: cells)."""
    shipped = {}
    for path in folder.rglob("*"):
        if not path.is_file() or path.suffix == ".pt":
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        shipped[path] = {ln.strip() for ln in text.splitlines()}
    return shipped


def test_what_ships(released):
    top = {p.name for p in released.folder.iterdir()}
    assert top == {
        "README.md",
        "LICENSE",
        "pyproject.toml",
        "environment.yml",
        "course",
        "notebooks",
        "d2lcnn",
    }
    assert sorted(p.name for p in (released.folder / "notebooks").iterdir()) == sorted(
        p.name for p in (ROOT / "notebooks").glob("*.ipynb")
    )
    names = {p.name for p in released.folder.rglob("*")}
    assert not names & {"solutions", ".grading-seed", "seed", "grading_corpus", "examples"}
    readme = (released.folder / "README.md").read_text()
    assert "./course lab" in readme and "`corr2d`" in readme


def test_no_solution_text_anywhere(released):
    answers = answer_lines()
    assert "Y[i, j] = (X[i : i + h, j : j + w] * K).sum()" in answers
    public = public_lines()
    for path, lines in shipped_lines(released.folder).items():
        assert not (lines & answers) - public, path


def test_no_graded_code_anywhere(released):
    """No line of any graded exercise's answer (its #@save definition, the grader's reference)
    ships, for function and module exercises alike; the grader's exercise definitions stay home."""
    code = graded_code_lines()
    public = public_lines()
    for name in GRADED:  # each of these has answer code that the notebooks do not show
        assert code[name] - public, name
    assert "layers.append(nn.MaxPool2d(kernel_size=2, stride=2))" in code["vgg_block"]
    shipped = set().union(*shipped_lines(released.folder).values())
    for name, lines in code.items():
        assert not (lines - public) & shipped, name
    exercises = released.folder / "d2lcnn" / "grading" / "exercises"
    assert [p.name for p in exercises.iterdir()] == ["__init__.py"]


def test_library_forms_are_the_grader_references():
    """A function stand-in computes exactly what the grader expects (it is the same function)."""
    exercises = load_all()
    for name, fn in LIBRARY.items():
        assert exercises[name].reference is fn, name


def test_graded_answers_are_stand_ins(released):
    assert {"corr2d", "pool2d", "batch_norm", "corr2d_multi_in_out"} <= set(released.stand_ins)
    conv = (released.folder / "d2lcnn" / "chapters" / "conv_layer.py").read_text()
    assert 'return stand_in("corr2d", X, K)' in conv and "for i in range" not in conv
    assert {"vgg_block", "Residual", "Inception", "DenseBlock", "lenet"} <= set(released.stand_ins)
    resnet = (released.folder / "d2lcnn" / "chapters" / "resnet.py").read_text()
    residual = next(n for n in ast.parse(resnet).body if getattr(n, "name", "") == "Residual")
    assert [getattr(n, "name", None) for n in residual.body] == [None, "__init__"]  # doc, raise
    assert 'missing("Residual", "13_resnet.ipynb")' in ast.get_source_segment(resnet, residual)


def test_the_check_catches_a_leak(released, tmp_path):
    leaked = tmp_path / "leaked"
    (leaked / "notes").mkdir(parents=True)
    (leaked / "notes" / "cheat.md").write_text("Y[i, j] = (X[i : i + h, j : j + w] * K).sum()\n")
    found, _ = leaks(ROOT, leaked)
    assert len(found) == 1 and "cheat.md" in found[0] and "02_conv_layer" in found[0]
    with pytest.raises(ReleaseError, match="not empty"):
        release(ROOT, leaked)


def test_a_leak_is_refused(tmp_path, monkeypatch):
    """Solution text anywhere in the output stops the release: the message names the file, the
    line and what to do, and nothing is left behind."""
    answer = "Y[i, j] = (X[i : i + h, j : j + w] * K).sum()"
    monkeypatch.setattr(release_module, "STUDENT_README", release_module.STUDENT_README + answer)
    folder = tmp_path / "course"
    with pytest.raises(ReleaseError) as refused:
        release(ROOT, folder)
    message = str(refused.value)
    assert message.startswith("refused:") and f"README.md: {answer!r}" in message
    assert "02_conv_layer" in message and "run `d2lcnn release` again" in message
    assert not folder.exists()


def run_in_release(released, code, *args, timeout=120):
    """``python -c code *args`` with the released package, not the repository's, on the path."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(released.folder)),
        timeout=timeout,
        cwd=released.folder,
    )


def test_release_package_runs_later_chapters(released):
    code = (
        "import torch, d2lcnn\n"
        "print(d2lcnn.corr2d(torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]])).tolist())\n"
        "layer = d2lcnn.Conv2D((1, 2))\n"
        "layer(torch.ones(6, 8)).sum().backward()\n"
        "print(layer.weight.grad is not None, d2lcnn.__file__)\n"
    )
    out = run_in_release(released, code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "[[19.0, 25.0], [37.0, 43.0]]"
    assert lines[1] == f"True {released.folder / 'd2lcnn' / '__init__.py'}"


@pytest.mark.parametrize("name", RUN)
def test_release_notebook_runs_to_its_first_stub(released, name, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(released.folder))  # the kernel imports the release
    path = released.folder / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    stop = next(
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and build.CODE_STUB[-1] in c.source
    )
    nb.cells.insert(0, nbformat.v4.new_code_cell("import d2lcnn\nprint(d2lcnn.__file__)"))
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with client.setup_kernel():
        client.execute_cell(nb.cells[0], 0)
        assert str(released.folder) in nb.cells[0].outputs[0]["text"]
        for index in range(1, stop + 2):
            try:
                client.execute_cell(nb.cells[index], index)
            except CellExecutionError as e:
                assert index == stop + 1 and e.ename == "NotImplementedError", (
                    f"{name}, cell {index}: {e.ename}: {e.evalue}"
                )


SELF_CHECK = """
import torch
from torch import nn
import d2lcnn

def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y

def flipped(X, K):
    return corr2d(X, torch.flip(K, (0, 1)))

def vgg_block(num_convs, in_channels, out_channels):
    layers = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    return nn.Sequential(*layers, nn.MaxPool2d(kernel_size=2, stride=2))

def no_pooling(num_convs, in_channels, out_channels):
    return nn.Sequential(*list(vgg_block(num_convs, in_channels, out_channels))[:-1])

for name, fn in [("corr2d", corr2d), ("corr2d", flipped), ("vgg_block", vgg_block),
                 ("vgg_block", no_pooling)]:
    d2lcnn.check(name, fn)
try:
    d2lcnn.vgg_block(1, 1, 4)
except NotImplementedError as e:
    print(e)
"""


def test_self_check_in_the_release(released):
    """In the release the self-check passes a correct answer and names a known mistake, from
    the recorded values alone; the course's own module exercise is not there to call."""
    out = run_in_release(released, SELF_CHECK)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.count("corr2d: 3/3 public cases passed") == 1
    assert "corr2d: 0/3 public cases passed" in text and "kernel flipped" in text
    assert text.count("vgg_block: 2/2 public cases passed") == 1
    assert "vgg_block: 0/2 public cases passed" in text and "without its max pooling" in text
    assert "d2lcnn.vgg_block is a graded exercise (09_vgg.ipynb)" in text


EVERY_ANSWER = """
import contextlib, io, pathlib, sys
import d2lcnn
from d2lcnn.grading.registry import load_all

for path in sorted(pathlib.Path(sys.argv[1]).glob("[!_]*.py")):  # not __init__
    namespace = {"__name__": "__main__"}  # the answers as a student's notebook defines them
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    for name in sorted(set(load_all()) & set(namespace)):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            d2lcnn.check(name, namespace[name])
        print(next(line for line in out.getvalue().splitlines() if "public cases" in line))
"""


def test_every_saved_answer_passes_the_release_self_check(released):
    """Each graded answer the repository saves (function and module exercises alike) passes
    the release's self-check, which holds only the recorded values: they are the grader's."""
    out = run_in_release(released, EVERY_ANSWER, str(ROOT / "d2lcnn" / "chapters"), timeout=300)
    assert out.returncode == 0, out.stderr
    results = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    assert set(GRADED) <= set(results) and set(results) == set(released.stand_ins)
    for name, result in results.items():
        passed, total = result.split(" ")[0].split("/")
        assert passed == total, f"{name}: {result}"
