"""The book's PyTorch code runs with ``import d2lcnn as d2l``: its names, their
signatures, and a short script written in the book's style.

The list below is every ``d2l.<name>`` that the PyTorch code of the 13 CNN
sections of Dive into Deep Learning (d2l-zh 2.0: chapter_convolutional-neural-networks
and chapter_convolutional-modern) uses, plus the functions those sections save into
the book's package (``#@save``). Signatures are copied from the book's ``d2l/torch.py``.
"""

import inspect

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import d2lcnn
import d2lcnn as d2l
from d2lcnn.data import FashionMNISTBatches

# The backend-neutral tensor names (d2l.torch maps them to torch), by section.
ALIASES = {
    "conv-layer": ["zeros", "reduce_sum", "tensor", "ones", "transpose", "reshape"],
    "channels": ["tensor", "stack", "reshape", "matmul", "normal", "reduce_sum", "abs"],
    "pooling": ["zeros", "tensor", "reshape", "arange", "float32", "concat"],
    "lenet": ["size"],
}

# Functions and classes, with the book's signature.
BOOK_SIGNATURES = {
    "corr2d": "(X, K)",  # conv-layer saves it, channels calls it
    "load_data_fashion_mnist": "(batch_size, resize=None)",
    "try_gpu": "(i=0)",
    "try_all_gpus": "()",
    "Accumulator": "(n)",
    "Timer": "()",
    "accuracy": "(y_hat, y)",
    "evaluate_accuracy_gpu": "(net, data_iter, device=None)",  # saved by lenet
    "train_ch6": "(net, train_iter, test_iter, num_epochs, lr, device)",  # saved by lenet
    "Animator": "(xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, "
    "xscale='linear', yscale='linear', fmts=('-', 'm--', 'g-.', 'r:'), nrows=1, ncols=1, "
    "figsize=(3.5, 2.5))",
    "Residual": "(input_channels, num_channels, use_1x1conv=False, strides=1)",  # resnet
}
METHOD_SIGNATURES = {("Animator", "add"): "(self, x, y)", ("Accumulator", "add"): "(self, *args)"}


def book_part(obj: object) -> str:
    """The parameters a book call can pass, without type hints: the keyword-only
    ones that d2lcnn adds (each with a default) are left out."""
    params = inspect.signature(obj).parameters.values()
    extra = [p for p in params if p.kind is p.KEYWORD_ONLY]
    assert all(p.default is not p.empty for p in extra), f"{obj}: added parameters need defaults"
    kept = [p.replace(annotation=p.empty) for p in params if p.kind is not p.KEYWORD_ONLY]
    return str(inspect.Signature(kept))


def test_every_name_the_book_uses_exists():
    names = {n for section in ALIASES.values() for n in section} | set(BOOK_SIGNATURES)
    assert not [n for n in sorted(names) if not hasattr(d2lcnn, n)]


@pytest.mark.parametrize("name", sorted(BOOK_SIGNATURES))
def test_signature_matches_the_book(name):
    assert book_part(getattr(d2lcnn, name)) == BOOK_SIGNATURES[name]


@pytest.mark.parametrize(("cls", "method"), sorted(METHOD_SIGNATURES))
def test_method_signature_matches_the_book(cls, method):
    assert book_part(getattr(getattr(d2lcnn, cls), method)) == METHOD_SIGNATURES[cls, method]


def test_signatures_agree_with_the_installed_d2l_package():
    """An independent check against ``d2l.torch`` (1.0.3, the English edition's package):
    every name it shares with d2l-zh 2.0 has the same signature there."""
    from d2l import torch as book

    for name in sorted(set(BOOK_SIGNATURES) - {"Residual"}):  # 1.0.3's is the lazy variant
        assert str(inspect.signature(getattr(book, name))) == BOOK_SIGNATURES[name], name
    assert str(inspect.signature(book.Animator.add)) == METHOD_SIGNATURES["Animator", "add"]


def test_aliases_mean_what_the_book_package_means():
    from d2l import torch as book

    for name in "tensor ones zeros arange normal float32 stack concat matmul abs".split():
        assert getattr(d2lcnn, name) is getattr(book, name), name
    X = torch.arange(12.0).reshape(3, 4)
    for name, args, kwargs in [
        ("reshape", ((4, 3),), {}),
        ("reshape", (2, 6), {}),
        ("transpose", (), {}),
        ("reduce_sum", (), {}),
        ("reduce_sum", (), {"axis": 0}),
        ("reduce_sum", (1,), {}),
        ("size", (), {}),
    ]:
        ours = getattr(d2lcnn, name)(X, *args, **kwargs)
        theirs = getattr(book, name)(X, *args, **kwargs)
        assert type(ours) is type(theirs), name
        assert torch.equal(torch.as_tensor(ours), torch.as_tensor(theirs)), name


def test_train_ch6_result_shows_nothing_in_the_cell_that_trains(capsys, monkeypatch, tmp_path):
    """A cell ending with ``d2l.train_ch6(...)`` displays no value, as with the book's
    (which returns ``None``); the metrics display as usual in a later cell."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))  # its history database goes there
    shell = InteractiveShell.instance()
    try:
        shell.run_cell(
            "import sys; sys.path.insert(0, 'tests'); import d2lcnn, test_train as t",
            store_history=True,
        )
        shell.run_cell(
            "a, b = t.tiny_iters(128); d2lcnn.train_ch6(t.tiny_net(), a, b, 1, 0.1, 'cpu')",
            store_history=True,
        )
        trained = capsys.readouterr().out
        shell.run_cell(
            "m = d2lcnn.train_ch6(t.tiny_net(), a, b, 1, 0.1, 'cpu')", store_history=True
        )
        capsys.readouterr()
        shell.run_cell("m", store_history=True)
        later = capsys.readouterr().out
    finally:
        InteractiveShell.clear_instance()
    assert "examples/sec" in trained and "Metrics(" not in trained
    assert "Metrics(train_loss=" in later


def test_animator_draws_like_the_book(tmp_path):
    png = tmp_path / "curves.png"
    animator = d2l.Animator(
        xlabel="epoch",
        ylabel="value",
        xlim=[1, 3],
        yscale="log",
        nrows=1,
        ncols=2,
        figsize=(5, 2),
        plot_path=png,
    )
    animator.add(1, (0.9, 0.5, None))  # three curves, no legend
    animator.add([2, 2.5, 3], [0.5, None, 0.7])  # one x per curve
    assert animator.xs == [[1, 2], [1], [3]] and animator.ys == [[0.9, 0.5], [0.5], [0.7]]
    fig = animator.figure()
    first = fig.axes[0]
    assert len(fig.axes) == 2  # the book's grid, curves in the first axes
    assert [line.get_linestyle() for line in first.lines] == ["-", "--", "-."]
    assert (first.get_xlabel(), first.get_ylabel(), first.get_yscale()) == ("epoch", "value", "log")
    assert first.get_xlim() == (1, 3) and first.get_legend() is None
    assert png.read_bytes()[:4] == b"\x89PNG"  # saved after every add outside Jupyter
    legend = d2l.Animator(legend=["loss", "acc"]).figure().axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["loss", "acc"]


def test_book_style_script_runs(monkeypatch, tmp_path, capsys):
    """Our own code, written the way the book writes it, against ``import d2lcnn as d2l``."""
    monkeypatch.setenv("D2LCNN_PLOT", str(tmp_path / "animator.png"))
    monkeypatch.setenv("D2LCNN_QUICK", "0")
    torch.manual_seed(0)

    # Edge detection with a hand-made kernel.
    X = d2l.ones((4, 6))
    X[:, 1:4] = 0
    K = d2l.tensor([[1.0, -1.0]])
    Y = d2l.corr2d(X, K)
    assert torch.equal(Y, F.conv2d(X[None, None], K[None, None])[0, 0])
    assert float(d2l.reduce_sum(d2l.abs(d2l.corr2d(d2l.transpose(X), K)))) == 0.0

    # Several input and output channels, and a 1x1 convolution as a matrix product.
    def corr2d_multi_in(X, K):
        return sum(d2l.corr2d(x, k) for x, k in zip(X, K))

    def corr2d_multi_in_out(X, K):
        return d2l.stack([corr2d_multi_in(X, k) for k in K], 0)

    X = d2l.normal(0, 1, (2, 5, 5))
    K = d2l.stack((d2l.ones((2, 1, 1)), d2l.zeros((2, 1, 1))), 0)
    Y1 = corr2d_multi_in_out(X, K)
    Y2 = d2l.reshape(d2l.matmul(d2l.reshape(K, (2, 2)), d2l.reshape(X, (2, 25))), (2, 5, 5))
    assert float(d2l.reduce_sum(d2l.abs(Y1 - Y2))) < 1e-5
    assert d2l.size(Y1) == 50

    # Pooling input built from arange, then a second channel with concat.
    X = d2l.reshape(d2l.arange(9, dtype=d2l.float32), (1, 1, 3, 3))
    X = d2l.concat((X, X + 1), 1)
    assert torch.equal(nn.MaxPool2d(2, stride=1)(X), F.max_pool2d(X, 2, stride=1))

    # A training loop in the style of the book's own train_ch6.
    def evaluate_accuracy(net, data_iter):
        metric = d2l.Accumulator(2)
        with torch.no_grad():
            for X, y in data_iter:
                metric.add(d2l.accuracy(net(X), y), d2l.size(y))
        return metric[0] / metric[1]

    images = torch.randint(0, 256, (60, 28, 28), dtype=torch.uint8)
    labels = (images.float().mean(dim=(1, 2)) > 127.5).long()
    train_iter = FashionMNISTBatches(images, labels, 10, shuffle=True)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 2))
    device, num_epochs = d2l.try_gpu(), 2
    optimizer, loss = torch.optim.SGD(net.parameters(), lr=0.1), nn.CrossEntropyLoss()
    animator = d2l.Animator(
        xlabel="epoch", xlim=[1, num_epochs], legend=["train loss", "train acc", "test acc"]
    )
    timer, num_batches = d2l.Timer(), len(train_iter)
    net.to(device)
    for epoch in range(num_epochs):
        metric = d2l.Accumulator(3)
        for i, (X, y) in enumerate(train_iter):
            timer.start()
            X, y = X.to(device), y.to(device)
            optimizer.zero_grad()
            l = loss(net(X), y)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                metric.add(l * X.shape[0], d2l.accuracy(net(X), y), X.shape[0])
            timer.stop()
            if (i + 1) % (num_batches // 5) == 0 or i == num_batches - 1:
                animator.add(
                    epoch + (i + 1) / num_batches,
                    (metric[0] / metric[2], metric[1] / metric[2], None),
                )
        animator.add(epoch + 1, (None, None, evaluate_accuracy(net, train_iter)))
    assert [len(curve) for curve in animator.ys] == [12, 12, 2]
    assert (tmp_path / "animator.png").read_bytes()[:4] == b"\x89PNG"
    assert timer.sum() > 0
    assert d2l.evaluate_accuracy_gpu(net, train_iter) == pytest.approx(
        evaluate_accuracy(net, train_iter)
    )

    # And the package's own train_ch6, as the modern-CNN sections call it.
    metrics = d2l.train_ch6(net, train_iter, train_iter, 1, 0.1, d2l.try_gpu())
    assert 0.0 <= metrics.test_acc <= 1.0
    assert "examples/sec" in capsys.readouterr().out
