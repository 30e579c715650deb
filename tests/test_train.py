"""The training helpers against hand-computed values and a tiny synthetic task."""

import math
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

import d2lcnn
from conftest import ROOT
from d2lcnn.data import FashionMNISTBatches


def tiny_data(n, seed):
    """Synthetic 28x28 uint8 images whose class is which quadrant is bright."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=gen)
    images = torch.randint(0, 60, (n, 28, 28), generator=gen, dtype=torch.uint8)
    for k in range(4):
        r, c = divmod(k, 2)
        images[labels == k, 14 * r : 14 * r + 14, 14 * c : 14 * c + 14] += 150
    return images, labels


def tiny_iters(batch_size=32):
    train = FashionMNISTBatches(*tiny_data(256, 0), batch_size, shuffle=True)
    test = FashionMNISTBatches(*tiny_data(128, 1), batch_size, shuffle=False)
    return train, test


def tiny_net():
    return nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=5, stride=2),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16, 4),
    )


def test_try_gpu_returns_devices():
    assert isinstance(d2lcnn.try_gpu(), torch.device)
    assert isinstance(d2lcnn.try_gpu(99), torch.device)
    devices = d2lcnn.try_all_gpus()
    assert devices and all(isinstance(d, torch.device) for d in devices)


def test_accuracy_counts_correct_predictions():
    y_hat = torch.tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    y = torch.tensor([1, 0, 1, 1])
    assert d2lcnn.accuracy(y_hat, y) == 2.0  # rows 0 and 1 are right
    assert d2lcnn.accuracy(torch.tensor([2, 0]), torch.tensor([2, 1])) == 1.0


def test_accumulator_and_timer():
    metric = d2lcnn.Accumulator(3)
    metric.add(1, 2.5, torch.tensor(3))
    metric.add(4, 0.5, 1)
    assert (metric[0], metric[1], metric[2]) == (5.0, 3.0, 4.0)
    metric.reset()
    assert metric[0] == 0.0
    timer = d2lcnn.Timer()
    timer.stop()
    timer.start()
    timer.stop()
    assert len(timer.times) == 2 and timer.sum() >= 0
    assert timer.cumsum()[-1] == pytest.approx(timer.sum())


def test_evaluate_accuracy_gpu_matches_hand_count():
    net = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.eye(2))  # predicts argmax of the input
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 3.0], [5.0, 1.0]])
    y = torch.tensor([0, 1, 1, 1, 1])  # 3 of 5 right
    batches = [(X[:2], y[:2]), (X[2:], y[2:])]
    assert d2lcnn.evaluate_accuracy_gpu(net, batches) == pytest.approx(0.6)
    assert not net.training
    with pytest.raises(ValueError, match="no examples"):
        d2lcnn.evaluate_accuracy_gpu(net, [])


def test_train_ch6_learns_and_reports(capsys, tmp_path):
    torch.manual_seed(0)
    train_iter, test_iter = tiny_iters()
    net = tiny_net()
    loss = nn.CrossEntropyLoss()
    X, y = train_iter.images.unsqueeze(1).float() / 255, train_iter.labels
    png = tmp_path / "curves.png"
    metrics = d2lcnn.train_ch6(
        net, train_iter, test_iter, 2, 0.5, torch.device("cpu"), plot_path=png
    )
    with torch.no_grad():
        after = loss(net(X), y).item()
    assert after < math.log(4) * 0.5  # chance level is log(4)
    assert metrics.train_loss == pytest.approx(metrics[0])
    assert 0 <= metrics.train_acc <= 1 and 0.9 <= metrics.test_acc <= 1
    assert metrics.examples_per_sec > 0 and metrics.time > 0
    out = capsys.readouterr().out
    assert "epoch 1/2: loss" in out and "epoch 2/2: loss" in out
    assert f"test acc {metrics.test_acc:.3f}" in out and "examples/sec on cpu" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_ch6_logged_loss_is_mean_per_example():
    """With lr tiny the weights barely move, so the logged loss equals a direct evaluation."""
    torch.manual_seed(0)
    train_iter, test_iter = tiny_iters(batch_size=100)  # batches of 100, 100, 56
    net = tiny_net()
    metrics = d2lcnn.train_ch6(net, train_iter, test_iter, 1, 1e-9, "cpu")
    X, y = train_iter.images.unsqueeze(1).float() / 255, train_iter.labels
    with torch.no_grad():
        direct = nn.functional.cross_entropy(net(X), y).item()
    assert metrics.train_loss == pytest.approx(direct, rel=1e-4)


def test_thread_tuning_keeps_every_batch_and_restores_threads(monkeypatch):
    from d2lcnn.train import _thread_tuned

    threads = torch.get_num_threads()
    assert list(_thread_tuned(range(10), (2, 1), trials=2)) == list(range(10))
    assert list(_thread_tuned(range(3), (2, 1), trials=2)) == [0, 1, 2]
    torch.set_num_threads(threads)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    train_iter, test_iter = tiny_iters(batch_size=16)
    d2lcnn.train_ch6(tiny_net(), train_iter, test_iter, 1, 0.1, "cpu")
    assert torch.get_num_threads() == threads


def test_train_ch6_quick_mode_caps_epochs(monkeypatch, capsys):
    monkeypatch.setenv("D2LCNN_QUICK", "1")
    train_iter, test_iter = tiny_iters(batch_size=128)
    d2lcnn.train_ch6(tiny_net(), train_iter, test_iter, 5, 0.1, "cpu")
    out = capsys.readouterr().out
    assert "quick mode" in out and "epoch 2/2" in out and "epoch 3" not in out


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_epochs=0), "num_epochs"),
        (dict(num_epochs=1.5), "num_epochs"),
        (dict(lr=0), "lr"),
        (dict(net="lenet"), "nn.Module"),
    ],
)
def test_train_ch6_rejects_bad_arguments(kwargs, message):
    train_iter, test_iter = tiny_iters()
    args = (
        dict(
            net=tiny_net(),
            train_iter=train_iter,
            test_iter=test_iter,
            num_epochs=1,
            lr=0.1,
            device="cpu",
        )
        | kwargs
    )
    with pytest.raises((TypeError, ValueError), match=message):
        d2lcnn.train_ch6(**args)


def test_layer_summary_counts_parameters():
    net = d2lcnn.lenet()
    rows = d2lcnn.layer_summary(net, (1, 1, 28, 28))
    assert len(rows) == len(net)
    assert sum(r.params for r in rows) == sum(p.numel() for p in net.parameters()) == 61706
    assert rows[0].output_shape == (1, 6, 28, 28) and rows[-1].output_shape == (1, 10)
    nested = nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU()), nn.Flatten(), nn.LazyLinear(5)
    )
    rows = d2lcnn.layer_summary(nested, (2, 1, 6, 6))
    assert [r.params for r in rows] == [30, 0, 3 * 4 * 4 * 5 + 5]
    assert rows[-1].output_shape == (2, 5)


def test_train_ch6_in_a_script_saves_png_from_env(tmp_path):
    """A plain script (no IPython kernel) prints per-epoch lines and honours $D2LCNN_PLOT."""
    script = (
        "import sys; sys.path.insert(0, 'tests'); import d2lcnn, test_train as t\n"
        "a, b = t.tiny_iters(128)\n"
        "d2lcnn.train_ch6(t.tiny_net(), a, b, 1, 0.1, 'cpu')\n"
    )
    png = tmp_path / "env.png"
    env = dict(os.environ, D2LCNN_PLOT=str(png), D2LCNN_QUICK="0")
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert "epoch 1/1: loss" in out.stdout and png.read_bytes()[:4] == b"\x89PNG"
