"""The self-check agrees with the grader: what passes in the kernel but not in the grader is said."""

import linecache

import pytest

from d2lcnn.grading import grader_view
from d2lcnn.grading.check import check
from d2lcnn.grading.extract import read_submission
from d2lcnn.grading.status import UNSEEN, exercise_status

# A notebook whose corr2d passes in the kernel: it reads a kernel size built by a call at the
# top level, which the grader drops, and a helper defined in a %%time cell, which it skips.
CELLS = [
    "import torch",
    "SIZE = torch.Size((2, 2)).numel()  # built by a call",
    "%%time\ndef window_sum(w):\n    return w.sum()",
    "def corr2d(X, K):\n"
    "    h, w = K.shape\n"
    "    assert SIZE == h * w or True\n"
    "    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))\n"
    "    for i in range(Y.shape[0]):\n"
    "        for j in range(Y.shape[1]):\n"
    "            Y[i, j] = window_sum(X[i:i + h, j:j + w] * K)\n"
    "    return Y",
]


def _kernel(monkeypatch: pytest.MonkeyPatch, cells: list[str]) -> dict:
    """Run ``cells`` as a kernel would (magics as plain code), with IPython's raw history."""
    namespace: dict = {"__name__": "__main__"}
    for i, text in enumerate(cells):
        filename = f"<cell {i}>"
        code = text.split("\n", 1)[1] if text.startswith("%%") else text
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        exec(compile(code, filename, "exec"), namespace)
    monkeypatch.setattr(grader_view, "kernel_cells", lambda: list(cells))
    return namespace


def test_passes_in_the_kernel_but_the_grader_would_not_see_its_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    corr2d = _kernel(monkeypatch, CELLS)["corr2d"]
    check("corr2d", corr2d)
    out = capsys.readouterr().out
    assert "3/3 public cases passed" in out
    assert "`SIZE` is built by a call at the top level" in out
    assert "`window_sum` is bound in a %% magic cell" in out
    assert exercise_status("corr2d", corr2d).state == UNSEEN
    # and the grader's extraction indeed drops both
    path = tmp_path / "notebook.py"
    path.write_text("\n\n".join(c for c in CELLS if not c.startswith("%%")))
    assert {"corr2d", "SIZE"} - read_submission(path).defined() == {"SIZE"}


def test_names_only_the_kernel_has(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = _kernel(monkeypatch, ["import torch", "def f(X):\n    return X * SCALE"])
    namespace["SCALE"] = 2.0  # as if its cell had been deleted after running
    assert grader_view.unseen(namespace["f"]) == [
        "`SCALE` exists only in this kernel: no cell binds it now (renamed, deleted, or made by "
        "exec), so the grader will not have it"
    ]


def test_what_the_grader_keeps_raises_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    cells = [
        "import torch",
        "SCALE = 2.0",
        "from d2lcnn import corr2d",
        "def f(X, K):\n    return corr2d(X, K) * SCALE + torch.ones(1)",
    ]
    assert grader_view.unseen(_kernel(monkeypatch, cells)["f"]) == []


def test_a_name_computed_from_a_dropped_one(monkeypatch: pytest.MonkeyPatch) -> None:
    cells = [
        "from types import SimpleNamespace",
        "setting = SimpleNamespace(lr=0.1)",
        "lr = setting.lr",
        "def step(w, g):\n    return w - lr * g",
    ]
    assert grader_view.unseen(_kernel(monkeypatch, cells)["step"]) == [
        "`lr` is computed from a name built by a top-level call, which the grader does not run: "
        "the grader will not have it"
    ]
