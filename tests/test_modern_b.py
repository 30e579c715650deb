"""Batch norm, ResNet and DenseNet (solutions/12-14) and bench/reproduce.py.

References are independent of the code under test: torch's own layers
(``nn.BatchNorm1d/2d``), torchvision's ResNet-18, parameter counts by formula,
and the exercise references in ``d2lcnn/grading``.
"""

import fnmatch
import importlib.util
import json

import pytest
import torch
from torch import nn

import d2lcnn
from conftest import ROOT, num_params
from conftest import conv_params as conv
from conftest import dense_params as linear
from d2lcnn.grading import load_all
from d2lcnn.grading.compare import compare

# ---------------------------------------------------------------- parameter formulas


def bn(c):
    return 2 * c  # gamma and beta


# ---------------------------------------------------------------- shapes and counts


@pytest.mark.parametrize("scratch", [True, False])
def test_bn_lenet_shape_and_params(scratch):
    net = d2lcnn.bn_lenet(scratch=scratch)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    expected = (
        conv(1, 6, 5)
        + bn(6)
        + conv(6, 16, 5)
        + bn(16)
        + linear(16 * 4 * 4, 120)
        + bn(120)
        + linear(120, 84)
        + bn(84)
        + linear(84, 10)
    )
    assert num_params(net) == expected == 44878


def test_resnet18_shape():
    net = d2lcnn.resnet18()
    assert net(torch.rand(2, 1, 96, 96)).shape == (2, 10)
    assert d2lcnn.resnet18(in_channels=3, num_classes=7)(torch.rand(1, 3, 224, 224)).shape == (1, 7)


def test_resnet18_params_against_torchvision():
    """torchvision's ResNet-18 adapted to 1 channel and 10 classes, plus the two known differences.

    The book gives every convolution a bias (torchvision: bias=False) and has no
    batch norm after the 1x1 shortcut convolutions (torchvision: one per shortcut).
    """
    import torchvision

    tv = torchvision.models.resnet18(num_classes=10)
    tv.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    stages = [64, 128, 256, 512]
    # stem conv + 4 convs per stage (2 blocks x 2) + a 1x1 shortcut in stages 2-4
    conv_biases = 64 + sum(4 * c for c in stages) + sum(stages[1:])
    shortcut_bn = sum(bn(c) for c in stages[1:])
    assert (conv_biases, shortcut_bn) == (4800, 1792)
    book = d2lcnn.resnet18()
    assert num_params(book) == num_params(tv) + conv_biases - shortcut_bn == 11_178_378
    # Stage by stage: book stage b_{i+2} against torchvision layer{i+1}.
    for i, c in enumerate(stages):
        tv_stage = num_params(getattr(tv, f"layer{i + 1}"))
        biases = 4 * c + (c if i else 0)
        assert num_params(book[i + 1]) == tv_stage + biases - (bn(c) if i else 0)


def test_densenet_shape_and_params():
    net = d2lcnn.densenet()
    assert net(torch.rand(2, 1, 96, 96)).shape == (2, 10)
    expected, c = conv(1, 64, 7) + bn(64), 64
    for i in range(4):
        for _ in range(4):  # conv_block: BN on what it reads, 3x3 conv adding 32 channels
            expected += bn(c) + conv(c, 32, 3)
            c += 32
        if i < 3:  # transition: BN, 1x1 conv halving the channels
            expected += bn(c) + conv(c, c // 2, 1)
            c //= 2
    expected += bn(c) + linear(c, 10)
    assert c == 248
    assert num_params(net) == expected == 758_226


def test_block_shapes_from_the_book():
    X = torch.rand(4, 3, 6, 6)
    assert d2lcnn.Residual(3, 3)(X).shape == (4, 3, 6, 6)
    assert d2lcnn.Residual(3, 6, use_1x1conv=True, strides=2)(X).shape == (4, 6, 3, 3)
    X = torch.randn(4, 3, 8, 8)
    Y = d2lcnn.DenseBlock(2, 3, 10)(X)
    assert Y.shape == (4, 23, 8, 8)
    assert torch.equal(Y[:, :3], X)  # the input is passed on untouched
    assert d2lcnn.transition_block(23, 10)(Y).shape == (4, 10, 4, 4)
    stage = nn.Sequential(*d2lcnn.resnet_block(64, 128, 2))
    assert stage(torch.rand(1, 64, 7, 7)).shape == (1, 128, 4, 4)


def test_residual_identity_shortcut_with_new_shape_is_refused():
    with pytest.raises(ValueError, match="use_1x1conv=True"):
        d2lcnn.Residual(3, 6)


# ---------------------------------------------------------------- batch norm vs torch


def _stat_shape(C, dims):
    return (1, C) if dims == 2 else (1, C, 1, 1)


@pytest.mark.parametrize(
    "shape,momentum", [((16, 5), 0.1), ((8, 3, 5, 5), 0.1), ((2, 4), 0.3), ((1, 2, 3, 3), 0.7)]
)
def test_batch_norm_function_matches_torch(shape, momentum):
    """Outputs and running statistics over several steps, training then eval, within 1e-5."""
    torch.manual_seed(0)
    C, dims = shape[1], len(shape)
    ref = (nn.BatchNorm2d if dims == 4 else nn.BatchNorm1d)(C, momentum=momentum)
    gamma, beta = 1 + torch.randn(_stat_shape(C, dims)), torch.randn(_stat_shape(C, dims))
    with torch.no_grad():
        ref.weight.copy_(gamma.flatten())
        ref.bias.copy_(beta.flatten())
    mean, var = torch.zeros(_stat_shape(C, dims)), torch.ones(_stat_shape(C, dims))
    for _ in range(4):
        X = torch.randn(shape) * 3 + 1
        Y, mean, var = d2lcnn.batch_norm(X, gamma, beta, mean, var, eps=1e-5, momentum=momentum)
        torch.testing.assert_close(Y, ref(X), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(mean.flatten(), ref.running_mean, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(var.flatten(), ref.running_var, atol=1e-5, rtol=1e-5)
        assert not mean.requires_grad and not var.requires_grad
    ref.eval()
    X = torch.randn(shape)
    with torch.no_grad():
        Y, mean2, var2 = d2lcnn.batch_norm(X, gamma, beta, mean, var, eps=1e-5, momentum=momentum)
        torch.testing.assert_close(Y, ref(X), atol=1e-5, rtol=1e-5)
    assert torch.equal(mean2, mean) and torch.equal(var2, var)  # prediction leaves them alone


@pytest.mark.parametrize("dims", [2, 4])
def test_batchnorm_layer_matches_torch_with_gradients(dims):
    torch.manual_seed(1)
    C = 6
    shape = (10, C) if dims == 2 else (4, C, 5, 5)
    ours, ref = (
        d2lcnn.BatchNorm(C, num_dims=dims),
        (nn.BatchNorm2d if dims == 4 else nn.BatchNorm1d)(C),
    )
    for step in range(3):
        X = (torch.randn(shape) * 2 + step).requires_grad_()
        X_ref = X.detach().clone().requires_grad_()
        Y, Y_ref = ours(X), ref(X_ref)
        torch.testing.assert_close(Y, Y_ref, atol=1e-5, rtol=1e-5)
        w = torch.randn(shape)
        (Y * w).sum().backward()
        (Y_ref * w).sum().backward()
        torch.testing.assert_close(X.grad, X_ref.grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours.gamma.grad.flatten(), ref.weight.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours.beta.grad.flatten(), ref.bias.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours.moving_mean.flatten(), ref.running_mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.moving_var.flatten(), ref.running_var, atol=1e-5, rtol=1e-5)
    # Running statistics are buffers: in state_dict, not trained.
    assert {"moving_mean", "moving_var"} <= set(ours.state_dict())
    assert {n for n, _ in ours.named_parameters()} == {"gamma", "beta"}
    ours.eval(), ref.eval()  # both layers follow .eval(), with or without autograd
    X = torch.randn(shape)
    torch.testing.assert_close(ours(X), ref(X), atol=1e-5, rtol=1e-5)


def test_bn_lenet_scratch_equals_nn_version():
    """Same weights, same batches: the two networks agree in training and prediction."""
    torch.manual_seed(2)
    scratch, ref = d2lcnn.bn_lenet(scratch=True), d2lcnn.bn_lenet(scratch=False)
    for a, b in zip(scratch, ref):
        if isinstance(a, (nn.Conv2d, nn.Linear)):
            b.load_state_dict(a.state_dict())
    for _ in range(3):
        X = torch.rand(16, 1, 28, 28)
        torch.testing.assert_close(scratch(X), ref(X), atol=1e-5, rtol=1e-4)
    scratch.eval(), ref.eval()
    X = torch.rand(5, 1, 28, 28)
    torch.testing.assert_close(scratch(X), ref(X), atol=1e-5, rtol=1e-4)


def test_batch_norm_bad_input_messages():
    one = torch.ones(1, 3)
    with pytest.raises(ValueError, match=r"\(batch, features\)"):
        d2lcnn.batch_norm(torch.ones(2, 3, 4), one, one, one, one, eps=1e-5, momentum=0.1)
    with pytest.raises(ValueError, match="more than one value"):
        d2lcnn.batch_norm(torch.ones(1, 3), one, one, one, one, eps=1e-5, momentum=0.1)
    with pytest.raises(ValueError, match="num_dims"):
        d2lcnn.BatchNorm(3, num_dims=3)


# ---------------------------------------------------------------- exercises


def book_batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    """The book's version: biased running variance, momentum = weight of the old value."""
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        dims = (0,) if X.dim() == 2 else (0, 2, 3)
        mean = X.mean(dim=dims, keepdim=True)
        var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    return gamma * X_hat + beta, moving_mean.detach(), moving_var.detach()


def test_batch_norm_exercise_catches_the_books_conventions():
    exercise = load_all()["batch_norm"]
    verdicts = [
        compare(case.call(exercise.reference), case.call(book_batch_norm))[0]
        for case in exercise.cases(0)
    ]
    modes = [case.grad_enabled for case in exercise.cases(0)]
    assert not any(v for v, training in zip(verdicts, modes) if training)  # wrong running stats
    assert all(v for v, training in zip(verdicts, modes) if not training)  # prediction is fine


def test_batch_norm_forbids_the_library_calls():
    forbidden = load_all()["batch_norm"].forbidden
    for name in (
        "torch.nn.functional.batch_norm",
        "torch.batch_norm",
        "torch.nn.BatchNorm2d",
        "torch.nn.BatchNorm1d",
        "torch.nn.functional.layer_norm",
    ):
        assert any(fnmatch.fnmatchcase(name, p) for p in forbidden), name


# ---------------------------------------------------------------- bench/reproduce.py


@pytest.fixture(scope="module")
def reproduce():
    spec = importlib.util.spec_from_file_location("reproduce", ROOT / "bench" / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(model, device, test_acc, quick=False):
    return {
        "model": model,
        "device": device,
        "epochs": 10,
        "lr": 1.0,
        "batch_size": 256,
        "resize": 28,
        "train_loss": 0.3,
        "train_acc": 0.9,
        "test_acc": test_acc,
        "examples_per_sec": 1234.5,
        "book_loop_examples_per_sec": None,
        "wall_s": 75.0,
        "trainer": "d2lcnn.train_ch6",
        "quick": quick,
        "date": "2026-01-01",
        "torch": "2",
        "note": "",
    }


def test_reproduce_merges_rows_per_model_and_device(reproduce, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:start -->\nstale\n<!-- results:end -->\noutro\n")
    reproduce.write_results(
        [_row("resnet18", "GPU A", 0.8), _row("lenet", "CPU", 0.7)], tmp_path, readme
    )
    rows = reproduce.write_results(
        [_row("lenet", "CPU", 0.75), _row("lenet", "GPU A", 0.76)], tmp_path, readme
    )
    assert [(r["model"], r["device"], r["test_acc"]) for r in rows] == [
        ("lenet", "CPU", 0.75),
        ("lenet", "GPU A", 0.76),
        ("resnet18", "GPU A", 0.8),
    ]
    assert json.loads((tmp_path / "results.json").read_text())["rows"] == rows
    text = readme.read_text()
    assert text.startswith("intro\n<!-- results:start -->") and text.endswith(
        "<!-- results:end -->\noutro\n"
    )
    assert "stale" not in text and text.count("| lenet |") == 2
    assert "0.469 / 0.823 / 0.779" in text and "55,297" in text  # the book's V100 figures
    table = (tmp_path / "RESULTS.md").read_text()
    assert (
        "| resnet18 | 28x28, 60,000 images, lr 1, batch 256 | 10 | 0.300 | 0.900 | 0.800 "
        "| 1,234 | GPU A | 1.2 min |"
    ) in table


def test_reproduce_keeps_cpu_setting_rows_beside_book_rows(reproduce, tmp_path):
    cpu = {
        **_row("resnet18", "CPU", 0.85),
        **{"setting": "cpu", "num_train": 20_000, "resize": 48, "epochs": 2},
    }
    rows = reproduce.write_results([_row("resnet18", "CPU", 0.9), cpu], tmp_path)
    assert [(r["model"], r.get("setting", "book")) for r in rows] == [
        ("resnet18", "book"),
        ("resnet18", "cpu"),
    ]
    table = (tmp_path / "RESULTS.md").read_text()
    assert "| resnet18 (CPU setting) | 48x48, 20,000 images, lr 1, batch 256 | 2 |" in table
    assert "0.012 / 0.997 / 0.893" in table  # the book's figures beside it
    assert "resnet18" in table.split("Awaiting a GPU")[1]
    rows = reproduce.write_results([_row("resnet18", "NVIDIA H100", 0.9)], tmp_path)
    assert "resnet18" not in reproduce.awaiting_gpu(rows)


def test_reproduce_cpu_setting_uses_the_notebook_setting(reproduce):
    setting = reproduce.setting_of("alexnet", cpu_setting=True)
    assert setting == d2lcnn.training_setting("alexnet", "cpu")
    net = reproduce.build("alexnet", setting.resize)
    assert net(torch.zeros(2, 1, setting.resize, setting.resize)).shape == (2, 10)


def test_reproduce_reads_train_ch6_results_from_a_notebook(reproduce):
    printed = [
        "training on cpu\n",
        "loss 0.412, train acc 0.851, test acc 0.838\n",
        "512.3 examples/sec on cpu\n",
    ]
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "train_ch6( in prose"},
            {
                "cell_type": "code",
                "source": "d2lcnn.train_ch6(net, ...)",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": printed[:2]},
                    {"output_type": "display_data", "data": {}},
                    {"output_type": "stream", "name": "stdout", "text": printed[2]},
                ],
            },
            {"cell_type": "code", "source": "x = 1", "outputs": []},
        ]
    }
    assert reproduce.train_ch6_results(nb) == [(0.412, 0.851, 0.838, 512.3)]


def test_reproduce_leaves_a_readme_without_markers_alone(reproduce, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("no markers\n")
    reproduce.write_results([_row("lenet", "CPU", 0.7)], tmp_path / "out", readme)
    assert readme.read_text() == "no markers\n"
    assert (tmp_path / "out" / "RESULTS.md").exists()


def test_reproduce_rejects_unknown_models(reproduce):
    with pytest.raises(SystemExit, match="resnet50"):
        reproduce.parse_models("lenet,resnet50")


def test_reproduce_quick_run_end_to_end(reproduce, tmp_path, monkeypatch):
    monkeypatch.setenv("D2LCNN_QUICK", "1")
    rows = reproduce.main(
        [
            "--models",
            "bn_lenet",
            "--quick",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),
        ]
    )
    assert len(rows) == 1 and rows[0]["quick"] and rows[0]["epochs"] == 1
    assert 0 <= rows[0]["test_acc"] <= 1 and rows[0]["examples_per_sec"] > 0
    saved = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert saved == rows
    assert (
        "| bn_lenet (quick) | 28x28, 60,000 images, lr 1, batch 256 | 1 |"
        in (tmp_path / "RESULTS.md").read_text()
    )


def test_reproduce_gpu_loops_run_on_cpu(reproduce, monkeypatch):
    """The CUDA-only trainers, exercised on the CPU (channels_last and bf16 autocast work there too)."""
    monkeypatch.setenv("D2LCNN_QUICK", "1")
    train_iter, test_iter = d2lcnn.load_data_fashion_mnist(256)
    cpu = torch.device("cpu")
    for bf16 in (False, True):
        metrics = reproduce.train_fast(d2lcnn.bn_lenet(), train_iter, test_iter, 1, 1.0, cpu, bf16)
        assert 0 <= metrics.test_acc <= 1 and metrics.examples_per_sec > 0
    assert (
        reproduce.book_loop_examples_per_sec(d2lcnn.bn_lenet(), train_iter, 1.0, cpu, max_batches=2)
        > 0
    )
