"""Known mistakes: each registered one is recognised on a case where it goes wrong.

For every mistake of every convolution and pooling exercise, the mistake's own
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
