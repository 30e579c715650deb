"""Chapters 1-3 (dense to conv, convolutions for images, padding and stride).

The generated helpers are checked against torch's own ops (``F.conv2d``,
``nn.Conv2d``) and the book's ``d2l.torch``; the hidden cases against the
common mistakes of these chapters. What every exercise must satisfy is
tested in ``test_exercises.py``.
"""

import re

import pytest
import torch
from d2l import torch as d2l
from torch import nn
from torch.nn import functional as F

import d2lcnn
from conftest import assert_close, catches, randint, solution, sources
from d2lcnn.grading import load_all

SEEDS = range(4)


# --- the book's printed values -------------------------------------------------------------

BOOK_X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
BOOK_K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])


def edge_image():
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    return X


@pytest.mark.parametrize("fn", [d2lcnn.corr2d, d2lcnn.corr2d_vec], ids=["corr2d", "corr2d_vec"])
def test_book_values_corr2d(fn):
    assert torch.equal(fn(BOOK_X, BOOK_K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]))
    Y = fn(edge_image(), torch.tensor([[1.0, -1.0]]))
    want = torch.zeros(6, 7)
    want[:, 1], want[:, 5] = 1.0, -1.0
    assert torch.equal(Y, want)
    assert torch.equal(fn(edge_image().t(), torch.tensor([[1.0, -1.0]])), torch.zeros(8, 5))


def test_book_values_padding_stride():
    torch.manual_seed(0)
    X = torch.rand(8, 8)
    for layer, shape in [
        (nn.Conv2d(1, 1, kernel_size=3, padding=1), (8, 8)),
        (nn.Conv2d(1, 1, kernel_size=(5, 3), padding=(2, 1)), (8, 8)),
        (nn.Conv2d(1, 1, kernel_size=3, padding=1, stride=2), (4, 4)),
        (nn.Conv2d(1, 1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4)), (2, 2)),
    ]:
        assert d2lcnn.comp_conv2d(layer, X).shape == torch.Size(shape)
        assert d2lcnn.conv_output_shape(8, layer.kernel_size, layer.padding, layer.stride) == shape
    # the seed notes' 5x5 example with a 2x2 kernel: plain, stride 2, padding 1, dilation 2
    assert d2lcnn.conv_output_shape(5, 2) == (4, 4)
    assert d2lcnn.conv_output_shape(5, 2, stride=2) == (2, 2)
    assert d2lcnn.conv_output_shape(5, 2, padding=1) == (6, 6)
    assert d2lcnn.conv_output_shape(5, 2, dilation=2) == (3, 3)


def test_learning_the_edge_kernel():
    """The notebook's seeded run: loss from about 6.4 to about 0.03, kernel near [1, -1]."""
    X = edge_image().reshape(1, 1, 6, 8)
    Y = d2lcnn.corr2d(X[0, 0], torch.tensor([[1.0, -1.0]])).reshape(1, 1, 6, 7)
    torch.manual_seed(54)
    conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
    losses = []
    for _ in range(10):
        l = (conv2d(X) - Y) ** 2
        conv2d.zero_grad()
        l.sum().backward()
        conv2d.weight.data[:] -= 3e-2 * conv2d.weight.grad
        losses.append(l.sum().item())
    assert losses[1] == pytest.approx(6.365, abs=1e-3) and losses[-1] == pytest.approx(
        0.029, abs=1e-3
    )
    torch.testing.assert_close(
        conv2d.weight.data.reshape(1, 2), torch.tensor([[1.0040, -0.9716]]), rtol=0, atol=1e-3
    )


# --- generated helpers against torch's own ops and d2l --------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_corr2d_matches_conv2d_and_d2l(seed):
    gen = torch.Generator().manual_seed(seed)
    h, w = randint(gen, 1, 12), randint(gen, 1, 12)
    kh, kw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
    X, K = torch.randn(h, w, generator=gen), torch.randn(kh, kw, generator=gen)
    want = F.conv2d(X[None, None], K[None, None])[0, 0]
    assert_close(d2lcnn.corr2d(X, K), want)
    assert_close(d2lcnn.corr2d_vec(X, K), want)
    assert_close(d2lcnn.corr2d(X, K), d2l.corr2d(X, K))


def test_corr2d_vec_keeps_dtype_and_gradient():
    X = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    K = torch.randn(2, 3, dtype=torch.float64)
    Y = d2lcnn.corr2d_vec(X, K)
    assert Y.dtype == torch.float64
    Y.sum().backward()
    X2 = X.detach().clone().requires_grad_()
    F.conv2d(X2[None, None], K[None, None]).sum().backward()
    assert_close(X.grad, X2.grad)


@pytest.mark.parametrize("seed", SEEDS)
def test_conv2d_layer_matches_conv2d(seed):
    gen = torch.Generator().manual_seed(seed)
    h, w = randint(gen, 2, 10), randint(gen, 2, 10)
    kh, kw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
    torch.manual_seed(seed)
    layer = d2lcnn.Conv2D((kh, kw))
    assert layer.weight.shape == (kh, kw) and layer.bias.shape == (1,)
    with torch.no_grad():
        layer.bias.fill_(0.5)
    X = torch.randn(h, w, generator=gen)
    Y = layer(X)
    want = F.conv2d(X[None, None], layer.weight[None, None].detach(), layer.bias.detach())[0, 0]
    assert_close(Y.detach(), want)
    # gradients flow through the loops to both parameters
    Y.sum().backward()
    assert_close(layer.bias.grad, torch.tensor([float(Y.numel())]))
    W = layer.weight.detach().clone().requires_grad_()
    F.conv2d(X[None, None], W[None, None]).sum().backward()
    assert_close(layer.weight.grad, W.grad)


@pytest.mark.parametrize("seed", SEEDS)
def test_comp_conv2d_matches_layer(seed):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    layer = nn.Conv2d(
        1,
        1,
        kernel_size=(randint(gen, 1, 4), randint(gen, 1, 4)),
        padding=randint(gen, 0, 2),
        stride=randint(gen, 1, 3),
    )
    X = torch.randn(randint(gen, 4, 10), randint(gen, 4, 10), generator=gen)
    with torch.no_grad():
        assert torch.equal(d2lcnn.comp_conv2d(layer, X), layer(X[None, None])[0, 0])


def test_conv_output_shape_matches_conv2d():
    gen = torch.Generator().manual_seed(0)
    checked = 0
    for _ in range(150):
        n = (randint(gen, 1, 16), randint(gen, 1, 16))
        k = (randint(gen, 1, 6), randint(gen, 1, 6))
        p = (randint(gen, 0, 3), randint(gen, 0, 3))
        s = (randint(gen, 1, 4), randint(gen, 1, 4))
        d = (randint(gen, 1, 4), randint(gen, 1, 4))
        if any(di * (ki - 1) + 1 > ni + 2 * pi for ni, ki, pi, di in zip(n, k, p, d)):
            with pytest.raises(ValueError, match="kernel spans"):
                d2lcnn.conv_output_shape(n, k, p, s, d)
            continue
        want = F.conv2d(
            torch.zeros(1, 1, *n), torch.zeros(1, 1, *k), stride=s, padding=p, dilation=d
        ).shape[2:]
        assert d2lcnn.conv_output_shape(n, k, p, s, d) == tuple(want)
        checked += 1
    assert checked > 50
    # ints and pairs mean the same; torch.Size works as a pair
    assert d2lcnn.conv_output_shape(torch.Size([9, 9]), 3, 1, 2) == d2lcnn.conv_output_shape(
        9, (3, 3), (1, 1), (2, 2)
    )


def test_seed_notes_multichannel_shapes():
    X = torch.rand(4, 2, 3, 5)
    conv2d = nn.Conv2d(in_channels=2, out_channels=3, kernel_size=(3, 5), stride=1, padding=(1, 2))
    Y = conv2d(X)
    assert (
        Y.shape == (4, 3, 3, 5)
        and conv2d.weight.shape == (3, 2, 3, 5)
        and conv2d.bias.shape == (3,)
    )
    assert Y.shape[2:] == d2lcnn.conv_output_shape((3, 5), (3, 5), (1, 2))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_size": 4, "kernel_size": 3, "dilation": 2}, "kernel spans 5 pixels"),
        (
            {"input_size": 8, "kernel_size": 3, "stride": 0},
            "stride must be an int or a pair of ints >= 1",
        ),
        ({"input_size": 8, "kernel_size": 3, "padding": -1}, "padding must be .* >= 0"),
        ({"input_size": (8, 8, 8), "kernel_size": 3}, "input_size must be an int or a pair"),
        ({"input_size": 8, "kernel_size": 2.5}, "kernel_size must be"),
    ],
)
def test_bad_input_is_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        d2lcnn.conv_output_shape(**kwargs)


# --- exercises ------------------------------------------------------------------------------


def _wrong_answers():
    corr = d2lcnn.corr2d
    return [
        ("conv2d_true", corr),  # forgot the flip
        ("conv2d_true", lambda X, K: corr(X, K.flip(1))),  # flipped one axis only
        (
            "conv1d_true",
            lambda x, k: F.conv1d(x[None, None], k[None, None], padding=len(k) - 1)[0, 0],
        ),  # cross-correlation
        (
            "conv_params",
            lambda c_in, c_out, kernel_size, bias=True: (  # forgot the bias
                solution("conv_params")(c_in, c_out, kernel_size, False)
            ),
        ),
        ("conv_matrix", lambda K, h, w: solution("conv_matrix")(K, h, w).T),
        (
            "corr2d_pad_stride",
            lambda X, K, padding=0, stride=1: (  # ignored the stride
                solution("corr2d_pad_stride")(X, K, padding, 1)
            ),
        ),
        (
            "corr2d_pad_stride",
            lambda X, K, padding=0, stride=1: (  # stride as a single int only
                solution("corr2d_pad_stride")(
                    X, K, padding, stride if isinstance(stride, int) else stride[0]
                )
            ),
        ),
        ("corr2d_dilated", lambda X, K, dilation=1: corr(X, K)),  # ignored the dilation
        ("corr2d_vec", lambda X, K: corr(X, K.flip(0, 1))),  # convolution, not correlation
    ]


@pytest.mark.parametrize("name, wrong", _wrong_answers(), ids=[n for n, _ in _wrong_answers()])
def test_hidden_cases_catch_common_mistakes(name, wrong):
    assert catches(load_all()[name], wrong)


def test_later_chapters_import_corr2d_instead_of_redefining_it():
    text = "\n".join(sources("03_padding_stride"))
    assert "from d2lcnn import corr2d" in text
    assert not re.search(r"^(def|class) (corr2d|corr2d_vec|Conv2D)\b", text, re.M)
