"""The assignment decides what is graded: every exercise of the chapter, missing ones at 0."""

import json
from pathlib import Path

import pytest

from d2lcnn.grading.assignment import Plan, UnknownAssignment, of_assignment, plan_for
from d2lcnn.grading.extract import read_submission
from d2lcnn.grading.registry import load_all

CORR2D = """import torch

def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
"""
CONV_LAYER = ["corr2d", "conv2d_true", "corr2d_vec"]


def _plan(
    tmp_path: Path, text: str, chosen: list[str] | None = None, assignment: str | None = None
) -> Plan:
    path = tmp_path / "submission.py"
    path.write_text(text)
    return plan_for(read_submission(path), load_all(), chosen, assignment)


def test_assignment_names_its_chapter() -> None:
    assert [e.name for e in of_assignment(load_all(), "02_conv_layer")] == CONV_LAYER
    assert [e.name for e in of_assignment(load_all(), "solutions/05_pooling.ipynb")] == [
        "pool2d",
        "pool2d_pad_stride",
    ]
    with pytest.raises(UnknownAssignment, match="known: 01_dense_to_conv, 02_conv_layer"):
        of_assignment(load_all(), "02_conv")


def test_py_without_assignment_gets_its_chapters_and_a_warning(tmp_path: Path) -> None:
    plan = _plan(tmp_path, CORR2D)
    assert [e.name for e in plan.exercises] == CONV_LAYER
    assert "--assignment 02_conv_layer" in plan.warning
    imports = _plan(tmp_path, "from d2lcnn import corr2d, pool2d\n")
    assert [e.name for e in imports.exercises] == CONV_LAYER + ["pool2d", "pool2d_pad_stride"]
    assert "02_conv_layer, 05_pooling" in imports.warning


def test_options_pin_the_exercises(tmp_path: Path) -> None:
    pinned = _plan(tmp_path, CORR2D, assignment="04_channels")
    assert [e.name for e in pinned.exercises][:1] == ["corr2d_multi_in"] and not pinned.warning
    chosen = _plan(tmp_path, CORR2D, chosen=["corr2d", "pool2d"], assignment="04_channels")
    assert [e.name for e in chosen.exercises] == ["corr2d", "pool2d"]


def test_grade_with_assignment_reports_every_exercise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from d2lcnn.cli import main

    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "only_corr2d.py").write_text(CORR2D)
    (tmp_path / "subs" / "imports.py").write_text("from d2lcnn import corr2d, pool2d\n")
    out = tmp_path / "out"
    status = main(
        ["grade", str(tmp_path / "subs"), "--out", str(out), "--assignment", "02_conv_layer"]
        + ["--no-report"]
    )
    stdout, stderr = capsys.readouterr()
    assert status == 0, stderr
    assert "no assignment recorded" not in stdout
    only = json.loads((out / "only_corr2d.json").read_text())
    statuses = {n: e["status"] for n, e in only["exercises"].items()}
    assert statuses == {"corr2d": "passed", "conv2d_true": "missing", "corr2d_vec": "missing"}
    assert (only["score"], only["max_score"]) == (10, 30)
    imports = json.loads((out / "imports.json").read_text())
    statuses = {n: e["status"] for n, e in imports["exercises"].items()}
    assert statuses == {"corr2d": "forbidden", "conv2d_true": "missing", "corr2d_vec": "missing"}
    assert (imports["score"], imports["max_score"]) == (0, 30)
    header = (out / "gradebook.csv").read_text().splitlines()[0].split(",")
    assert header[4:-1] == sorted(CONV_LAYER)
