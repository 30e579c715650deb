"""Known mistakes: each registered one is recognised on a case where it goes wrong.

For every mistake of every convolution, pooling and batch-norm function exercise, the mistake's own
function stands in for a student's: on the exercise's cases (public and hidden,
seed 0) it must fail somewhere, and there the grader's matcher must name it.
"""

from functools import cache

import pytest
import torch

from d2lcnn.grading.mistakes import diagnose
from d2lcnn.grading.registry import Case, Exercise, load_all

CONV_POOL = (
    "corr2d",
    "conv2d_true",
    "corr2d_vec",
    "corr2d_pad_stride",
    "corr2d_dilated",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
    "pool2d",
    "pool2d_pad_stride",
    "grouped_conv2d",
    "conv_transpose2d",
    "conv1d_true",
    "conv_matrix",
    "batch_norm",
)


def _registered() -> list[tuple[str, str]]:
    registry = load_all()
    return [(n, m) for n in CONV_POOL if n in registry for m in registry[n].mistakes]


@cache
def _cases(name: str) -> list[tuple[Case, object]]:
    """The exercise's cases for seed 0 with the reference's values, computed once."""
    exercise = load_all()[name]
    return [(case, case.call(exercise.reference)) for case in exercise.cases(0)]


def _diagnoses(exercise: Exercise, fn: object) -> list[tuple[str, str] | None]:
    """What the matcher says on each case where ``fn`` fails (cases it cannot run are skipped)."""
    found = []
    for case, expected in _cases(exercise.name):
        try:
            got = case.call(fn)
        except Exception:
            continue
        ok, _ = case.compare(expected, got, exercise.rtol, exercise.atol)
        if not ok:
            found.append(diagnose(exercise, case, got))
    return found


@pytest.mark.parametrize("name", CONV_POOL)
def test_at_least_three_mistakes_each(name: str) -> None:
    exercise = load_all()[name]
    assert len(exercise.mistakes) >= 3, name
    for fn, sentence in exercise.mistakes.values():
        assert callable(fn) and sentence[:1].isupper() and sentence.endswith(".")


@pytest.mark.parametrize("name, mistake", _registered(), ids=[f"{n}-{m}" for n, m in _registered()])
def test_each_mistake_is_recognised(name: str, mistake: str) -> None:
    exercise = load_all()[name]
    found = _diagnoses(exercise, exercise.mistakes[mistake][0])
    assert found, f"{mistake!r} never differs from the reference"
    assert (mistake, exercise.mistakes[mistake][1]) in found


def test_correct_and_unknown_answers_name_no_mistake() -> None:
    exercise = load_all()["corr2d"]
    case = exercise.public_cases[0]
    assert diagnose(exercise, case, case.call(exercise.reference)) is None
    assert diagnose(exercise, case, torch.zeros(2, 2)) is None
    assert diagnose(exercise, case, "not a tensor") is None


def test_check_names_the_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    from d2lcnn.grading.check import check

    exercise = load_all()["corr2d"]
    check("corr2d", exercise.mistakes["kernel flipped"][0])
    out = capsys.readouterr().out
    assert exercise.mistakes["kernel flipped"][1] in out


# A student's batch_norm with the book's structure; the markers are where the mistakes go.
BATCH_NORM = """
def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        dims = (0,) if X.dim() == 2 else AXES
        n = X.numel() // X.shape[1]
        mean = X.mean(dim=dims, keepdim=True)
        var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = (1 - momentum) * moving_mean + momentum * mean
        moving_var = (1 - momentum) * moving_var + momentum * var * RUNNING
    return gamma * X_hat + beta, moving_mean.detach(), moving_var.detach()
"""


@pytest.mark.parametrize(
    "axes, running, mistake",
    [
        ("(0, 2, 3)", "n / (n - 1)", None),
        ("(0, 2, 3)", "1", "biased running variance"),
        ("(0,)", "n / (n - 1)", "statistics over the batch axis only"),
    ],
)
def test_check_names_a_batch_norm_mistake(
    axes: str, running: str, mistake: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A student's own code (float32, written like the book's) is named by its mistake."""
    from conftest import run_cell
    from d2lcnn.grading.check import check

    source = BATCH_NORM.replace("AXES", axes).replace("RUNNING", running)
    check("batch_norm", run_cell(source, {"torch": torch})["batch_norm"])
    out = capsys.readouterr().out
    if mistake is None:
        assert "4/4 public cases passed" in out
    else:
        assert load_all()["batch_norm"].mistakes[mistake][1] in out, out
