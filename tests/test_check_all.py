"""The per-exercise status behind ``d2lcnn.check_all``, and the self-check's forbidden-first report."""

import torch

import d2lcnn
from conftest import run_cell
from d2lcnn.grading import status
from d2lcnn.grading.status import exercise_status

RIGHT = """
def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
"""
WRONG = "def corr2d(X, K):\n    return X[:1, :1]\n"
STUB = "def corr2d(X, K):\n    raise NotImplementedError()\n"
FORBIDDEN = "def corr2d(X, K):\n    return F.conv2d(X[None, None], K[None, None])[0, 0]\n"
HIDDEN = "if True:\n" + "\n".join("    " + line for line in RIGHT.splitlines()) + "\n"


def cell(text):
    """Run ``text`` as a notebook cell that sees only torch and F: its namespace."""
    return run_cell(text, {"torch": torch, "F": torch.nn.functional})


def test_each_state_of_an_exercise():
    assert exercise_status("corr2d", cell(RIGHT)["corr2d"]).state == status.PASSED
    failed = exercise_status("corr2d", cell(WRONG)["corr2d"])
    assert (
        failed.state == status.FAILED
        and failed.passed == 0
        and "expected shape" in failed.next_step
    )
    assert exercise_status("corr2d", cell(STUB)["corr2d"]).state == status.NOT_WRITTEN
    assert exercise_status("corr2d", None).state == status.NOT_WRITTEN
    forbidden = exercise_status("corr2d", cell(FORBIDDEN)["corr2d"])
    assert forbidden.state == status.FORBIDDEN and forbidden.passed == 3
    assert "torch.nn.functional.conv2d" in forbidden.next_step
    assert exercise_status("corr2d", d2lcnn.corr2d).state == status.FORBIDDEN  # the course's own
    hidden = exercise_status("corr2d", cell(HIDDEN)["corr2d"])
    assert hidden.state == status.UNSEEN and "top level" in hidden.next_step


def test_a_function_without_a_module():
    """``__module__`` may be None (functions built with types.FunctionType, some wrappers):
    the status judges the function, not where it came from."""
    right, wrong = cell(RIGHT)["corr2d"], cell(WRONG)["corr2d"]
    right.__module__ = wrong.__module__ = None
    assert exercise_status("corr2d", right).state == status.PASSED
    assert exercise_status("corr2d", wrong).state == status.FAILED


def test_check_all_table_and_next_step(capsys):
    namespace = cell(RIGHT + STUB.replace("corr2d", "conv2d_true"))
    namespace["__session__"] = (
        "workspace/02_conv_layer-mine.ipynb"  # what ipykernel sets in Jupyter
    )
    exec("import d2lcnn\nd2lcnn.check_all()", namespace)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "02_conv_layer-mine: 1 of 3 exercises passed"
    assert lines[1].split() == ["corr2d", "passed", "(3/3", "public", "cases)"]
    assert lines[2].split() == ["conv2d_true", "not", "yet", "written"]
    assert lines[3].split()[:4] == ["corr2d_vec", "not", "yet", "written"]
    assert lines[4].startswith("Next: conv2d_true: replace `raise NotImplementedError()`")


def test_check_all_finds_the_notebook_from_its_definitions(capsys):
    namespace = cell(WRONG)
    exec("import d2lcnn\nd2lcnn.check_all()", namespace)
    out = capsys.readouterr().out
    assert out.startswith("02_conv_layer: 0 of 3 exercises passed") and "failed  (0/3" in out


def test_check_puts_forbidden_first(capsys):
    d2lcnn.check("corr2d", cell(FORBIDDEN)["corr2d"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("corr2d: scores 0 points: line 2 uses torch.nn.functional.conv2d")
    assert lines[1].startswith("corr2d: 3/3 public cases passed")
