"""The student release: no solutions, no seed, no solution text; its package works with the
graded answers replaced by stand-ins, and its notebooks run to their first stub."""

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

from d2lcnn import build
from d2lcnn.release import MIN_LINE, ReleaseError, leaks, release

ROOT = Path(__file__).resolve().parents[1]
# notebooks whose cells before the first stub use stand-ins (corr2d, corr2d_multi_in_out, ...)
RUN = ("02_conv_layer", "04_channels", "06_conv_variants", "12_batch_norm")


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release") / "course"
    return release(ROOT, folder)


def answer_lines():
    """Every line of at least MIN_LINE characters between the solution markers, read here
    independently of d2lcnn.release."""
    lines = set()
    for path in (ROOT / "solutions").glob("*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            text = "".join(cell["source"])
            for region in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", text, re.S):
                lines |= {ln.strip() for ln in region.splitlines() if len(ln.strip()) >= MIN_LINE}
    return lines


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
    public = set()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        for cell in json.loads(nb.read_text())["cells"]:
            public |= {ln.strip() for ln in "".join(cell["source"]).splitlines()}
    references = released.folder / "d2lcnn" / "grading" / "exercises"
    for path in released.folder.rglob("*"):
        if path.is_file() and not path.is_relative_to(references):
            text = path.read_text(errors="replace")
            if path.suffix == ".ipynb":
                text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
            shipped = {ln.strip() for ln in text.splitlines()}
            assert not (shipped & answers) - public, path


def test_what_the_self_check_references_give_away(released):
    """The self-check's references ship; those of the module exercises (chapters 07-14) are
    written like their answers, and the release says so. No function exercise's answer is
    among them (the conv/pool references use the library ops the exercises forbid)."""
    assert released.in_references
    notebooks = {re.search(r"from (\d\d)_", f).group(1) for f in released.in_references}
    assert notebooks <= {f"{n:02d}" for n in range(7, 15)}


def test_graded_answers_are_stand_ins(released):
    assert {"corr2d", "pool2d", "batch_norm", "corr2d_multi_in_out"} <= set(released.stand_ins)
    conv = (released.folder / "d2lcnn" / "chapters" / "conv_layer.py").read_text()
    assert 'return stand_in("corr2d", X, K)' in conv and "for i in range" not in conv


def test_the_check_catches_a_leak(released, tmp_path):
    leaked = tmp_path / "leaked"
    (leaked / "notes").mkdir(parents=True)
    (leaked / "notes" / "cheat.md").write_text("Y[i, j] = (X[i : i + h, j : j + w] * K).sum()\n")
    found, _ = leaks(ROOT, leaked)
    assert len(found) == 1 and "cheat.md" in found[0] and "02_conv_layer" in found[0]
    with pytest.raises(ReleaseError, match="not empty"):
        release(ROOT, leaked)


def test_release_package_runs_later_chapters(released):
    code = (
        "import torch, d2lcnn\n"
        "print(d2lcnn.corr2d(torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]])).tolist())\n"
        "layer = d2lcnn.Conv2D((1, 2))\n"
        "layer(torch.ones(6, 8)).sum().backward()\n"
        "print(layer.weight.grad is not None, d2lcnn.__file__)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(released.folder))
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=released.folder,
    )
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
