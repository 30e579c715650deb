"""nn.Module exercises: the probe judges what a module computes, not how it is written.

The grader fills every registered parameter and buffer from its shape, so equivalent
modules agree whatever their names and nesting; it reads the real registered state,
so a module cannot lie about it; each registered mistake is recognised on some case.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import d2lcnn
from d2lcnn.grading import load_all
from d2lcnn.grading.check import check
from d2lcnn.grading.mistakes import recognise
from d2lcnn.grading.modules import ModuleCase, fill_value, real_state, shapes_of

ROOT = Path(__file__).resolve().parents[1]
MODULE_EXERCISES = sorted(
    n for n, e in load_all().items() if isinstance(e.public_cases[0], ModuleCase)
)


def test_at_least_ten_block_exercises_in_chapters_7_to_14():
    assert len(MODULE_EXERCISES) >= 10
    chapters = {load_all()[n].notebook[10:12] for n in MODULE_EXERCISES}
    assert chapters == {f"{c:02d}" for c in range(7, 15)}


@pytest.mark.parametrize("name", MODULE_EXERCISES)
def test_public_and_hidden_cases_and_the_self_check_cell(name):
    """(tests/test_exercises.py runs the reference against the solution on every case.)"""
    exercise = load_all()[name]
    cells = json.loads((ROOT / exercise.notebook).read_text())["cells"]
    assert any(f'd2lcnn.check("{name}", {name})' in "".join(c["source"]) for c in cells)
    hidden = exercise.hidden_cases(torch.Generator().manual_seed(0))
    assert len(hidden) >= 8 and len(exercise.public_cases) >= 2


@pytest.mark.parametrize("name", MODULE_EXERCISES)
def test_every_registered_mistake_is_recognised(name):
    exercise = load_all()[name]
    assert len(exercise.mistakes) >= 2
    cases = exercise.cases(0)
    expected = [case.call(exercise.reference) for case in cases]
    for mistake, (fn, sentence) in exercise.mistakes.items():
        said = []
        for case, want in zip(cases, expected):
            try:
                got = case.call(fn)
            except Exception:
                continue  # the mistake cannot run on this input (shapes clash)
            if not case.compare(want, got, exercise.rtol, exercise.atol)[0]:
                said.append(recognise(exercise, case, got))
                if sentence in said:
                    break
        assert sentence in said, f"{name}: {mistake} never recognised ({said[:2]})"


def test_fill_depends_on_the_shape_only():
    a, b = nn.Linear(4, 3), nn.Sequential(nn.Sequential(nn.Linear(4, 3)))
    case = load_all()["vgg_block"].public_cases[0]
    assert torch.equal(fill_value((3, 4), "param"), fill_value((3, 4), "param"))
    assert not torch.equal(fill_value((3, 4), "param"), fill_value((4, 3), "param"))
    assert isinstance(case, ModuleCase)
    for module in (a, b):
        _, params, _ = real_state(module)
        assert sorted(
            shapes_of(torch.tensor([[p.dim(), *p.shape, *[-1] * (6 - p.dim())] for p in params]))
        ) == [(3,), (3, 4)]


class Lying(nn.Module):
    """Claims the parameters of a correct vgg_block(1, 2, 3); really holds a 1x1 convolution."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, kernel_size=1)
        self.__dict__["claimed"] = nn.Conv2d(2, 3, kernel_size=3, padding=1)

    def parameters(self, recurse=True):
        return self.claimed.parameters()

    def named_parameters(self, *args, **kwargs):
        return self.claimed.named_parameters(*args, **kwargs)

    def state_dict(self, *args, **kwargs):
        return self.claimed.state_dict(*args, **kwargs)

    def forward(self, X):
        return F.max_pool2d(F.relu(self.conv(X)), 2)


def test_a_lying_parameters_method_is_not_believed():
    exercise = load_all()["vgg_block"]
    case = exercise.public_cases[1]  # vgg_block(1, 1, 4)
    case = ModuleCase(case.label, (1, 2, 3), inputs=(torch.randn(2, 2, 6, 6),), modes=("train",))
    ok, message = case.compare(
        case.call(exercise.reference), case.call(lambda *a: Lying()), 1e-4, 1e-5
    )
    assert not ok
    assert "missing: (3, 2, 3, 3)" in message and "extra: (3, 2, 1, 1)" in message


def test_modes_are_set_without_calling_train_or_eval():
    class NoEval(nn.Sequential):
        def train(self, mode=True):  # would keep a dropout layer active forever
            return self

    exercise = load_all()["alexnet_head"]
    case = exercise.public_cases[0]
    ok, message = case.compare(
        case.call(exercise.reference),
        case.call(lambda *a, **k: NoEval(*exercise.reference(*a, **k))),
        exercise.rtol,
        exercise.atol,
    )
    assert ok, message


def test_unused_layer_is_reported_by_the_gradients():
    """Path 3 reads path 2's reduction (equal shapes, so equal values): only the gradients tell."""
    from d2lcnn.grading.exercises.googlenet import InceptionReference

    class Wired(InceptionReference):
        def forward(self, X):
            paths = (
                F.relu(self.p1(X)),
                F.relu(self.p2[1](F.relu(self.p2[0](X)))),
                F.relu(self.p3[1](F.relu(self.p2[0](X)))),  # p3[0] never used
                F.relu(self.p4(self.pool(X))),
            )
            return torch.cat(paths, dim=1)

    exercise = load_all()["Inception"]
    args = (4, 2, (3, 4), (3, 3), 2)
    case = ModuleCase("c2[0] == c3[0]", args, inputs=(torch.randn(2, 4, 5, 5),), modes=("train",))
    want = case.call(exercise.reference)
    got = case.call(Wired)
    assert torch.equal(torch.as_tensor(want[1]), torch.as_tensor(got[1]))  # same output
    ok, message = case.compare(want, got, exercise.rtol, exercise.atol)
    assert not ok and "does not reach every parameter: 2 get no gradient" in message


def test_check_names_the_mistake(capsys):
    def vgg_block(num_convs, in_channels, out_channels):
        layers = []
        for i in range(num_convs):
            layers += [nn.Conv2d(out_channels if i else in_channels, out_channels, 3, padding=1)]
            layers += [nn.ReLU()]
        return nn.Sequential(*layers)

    check("vgg_block", vgg_block)
    out = capsys.readouterr().out
    assert "0/2 public cases passed" in out
    assert "without its max pooling" in out


def test_check_says_not_implemented_for_a_class_stub(capsys):
    class Residual(nn.Module):
        def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
            super().__init__()
            raise NotImplementedError()

    check("Residual", Residual)
    assert "not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("grad", [True, False])
def test_batchnorm_layer_eval_equals_torch_eval(grad):
    """d2lcnn.BatchNorm follows self.training: after .eval() it predicts, with autograd on or off."""
    torch.manual_seed(3)
    ours, ref = d2lcnn.BatchNorm(4, num_dims=4), nn.BatchNorm2d(4)
    for _ in range(3):
        X = torch.randn(5, 4, 3, 3) * 2 + 1
        ours(X), ref(X)
    ours.eval(), ref.eval()
    X = torch.randn(2, 4, 3, 3)
    with torch.set_grad_enabled(grad):
        torch.testing.assert_close(ours(X), ref(X), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.moving_mean.flatten(), ref.running_mean)  # not updated by eval
    torch.testing.assert_close(ours.moving_var.flatten(), ref.running_var)


def test_batchnorm_layer_trains_under_no_grad_like_torch():
    torch.manual_seed(4)
    ours, ref = d2lcnn.BatchNorm(3, num_dims=2), nn.BatchNorm1d(3)
    X = torch.randn(6, 3)
    with torch.no_grad():
        torch.testing.assert_close(ours(X), ref(X), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.moving_var.flatten(), ref.running_var)


def test_probes_in_parallel_threads_see_the_same_dropout_masks():
    """The grader probes references in one thread per worker: a head with dropout gives the same
    values as probed one at a time (torch's RNG is global; unguarded, about 1 probe in 15 moved)."""
    exercise = load_all()["alexnet_head"]
    cases = exercise.cases(0)
    alone = [case.call(exercise.reference) for case in cases]

    def probe_all(order):
        return {i: cases[i].call(exercise.reference) for i in order}

    with ThreadPoolExecutor(2) as pool:
        for _ in range(4):
            orders = [range(len(cases)), reversed(range(len(cases)))]
            for values in pool.map(probe_all, orders):
                for i, got in values.items():
                    assert all(torch.equal(a, b) for a, b in zip(alone[i], got)), cases[i].label
