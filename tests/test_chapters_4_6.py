"""Chapters 4-6 (channels, pooling, convolution variants).

The generated helpers are checked against torch's own ops and against the
book's ``d2l.torch``; the hidden cases against the common mistakes of these
chapters. What every exercise must satisfy is tested in ``test_exercises.py``.
"""

import pytest
import torch
from d2l import torch as d2l
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

import d2lcnn
from conftest import assert_close, catches, randint
from d2lcnn.grading import load_all

SEEDS = range(4)


# --- the book's printed values -------------------------------------------------------------

BOOK_X = torch.tensor(
    [
        [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
        [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
    ]
)
BOOK_K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])


def test_book_values_channels():
    assert torch.equal(
        d2lcnn.corr2d_multi_in(BOOK_X, BOOK_K), torch.tensor([[56.0, 72.0], [104.0, 120.0]])
    )
    K = torch.stack((BOOK_K, BOOK_K + 1, BOOK_K + 2), 0)
    assert K.shape == (3, 2, 2, 2)
    assert torch.equal(
        d2lcnn.corr2d_multi_in_out(BOOK_X, K),
        torch.tensor(
            [
                [[56.0, 72.0], [104.0, 120.0]],
                [[76.0, 100.0], [148.0, 172.0]],
                [[96.0, 128.0], [192.0, 224.0]],
            ]
        ),
    )


def test_book_values_pooling():
    X = BOOK_X[0]
    assert torch.equal(d2lcnn.pool2d(X, (2, 2)), torch.tensor([[4.0, 5.0], [7.0, 8.0]]))
    assert torch.equal(d2lcnn.pool2d(X, (2, 2), "avg"), torch.tensor([[2.0, 3.0], [5.0, 6.0]]))
    X = torch.arange(16.0).reshape(4, 4)
    assert torch.equal(d2lcnn.pool2d_pad_stride(X, (3, 3)), torch.tensor([[10.0]]))
    want = torch.tensor([[5.0, 7.0], [13.0, 15.0]])
    assert torch.equal(d2lcnn.pool2d_pad_stride(X, (3, 3), (1, 1), (2, 2)), want)
    assert torch.equal(d2lcnn.pool2d_pad_stride(X, (2, 3), (0, 1), (2, 3)), want)


def test_book_values_transposed():
    X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert torch.equal(
        d2lcnn.conv_transpose2d(X, X),
        torch.tensor([[0.0, 0.0, 1.0], [0.0, 4.0, 6.0], [4.0, 12.0, 9.0]]),
    )


# --- generated helpers against torch's own ops and d2l --------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_channels_match_conv2d(seed):
    gen = torch.Generator().manual_seed(seed)
    ci, co, h, w = randint(gen, 1, 5), randint(gen, 1, 5), randint(gen, 1, 9), randint(gen, 1, 9)
    kh, kw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
    X, K = torch.randn(ci, h, w, generator=gen), torch.randn(co, ci, kh, kw, generator=gen)
    assert_close(d2lcnn.corr2d_multi_in(X, K[0]), F.conv2d(X[None], K[:1])[0, 0])
    assert_close(d2lcnn.corr2d_multi_in_out(X, K), F.conv2d(X[None], K)[0])
    K1 = K[:, :, :1, :1]
    assert_close(d2lcnn.corr2d_multi_in_out_1x1(X, K1), F.conv2d(X[None], K1)[0])


def test_channels_match_d2l():
    torch.manual_seed(0)
    X, K = torch.randn(3, 6, 5), torch.randn(4, 3, 2, 3)
    # d2l.torch has corr2d; the multi-channel functions exist there only in some editions.
    assert_close(d2lcnn.corr2d_multi_in(X, K[0]), sum(d2l.corr2d(x, k) for x, k in zip(X, K[0])))
    if hasattr(d2l, "corr2d_multi_in"):
        assert_close(d2lcnn.corr2d_multi_in(X, K[0]), d2l.corr2d_multi_in(X, K[0]))
    if hasattr(d2l, "corr2d_multi_in_out"):
        assert_close(d2lcnn.corr2d_multi_in_out(X, K), d2l.corr2d_multi_in_out(X, K))
    if hasattr(d2l, "corr2d_multi_in_out_1x1"):
        K1 = K[:, :, :1, :1]
        assert_close(d2lcnn.corr2d_multi_in_out_1x1(X, K1), d2l.corr2d_multi_in_out_1x1(X, K1))
    if hasattr(d2l, "pool2d"):
        for mode in ("max", "avg"):
            assert_close(d2lcnn.pool2d(X[0], (2, 3), mode), d2l.pool2d(X[0], (2, 3), mode))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_matches_torch(seed, mode):
    gen = torch.Generator().manual_seed(seed)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    h, w = randint(gen, 1, 9), randint(gen, 1, 9)
    ph, pw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
    X = torch.randn(h, w, generator=gen)
    assert_close(d2lcnn.pool2d(X, (ph, pw), mode), pool(X[None, None], (ph, pw), stride=1)[0, 0])
    pad = (randint(gen, 0, ph // 2 + 1), randint(gen, 0, pw // 2 + 1))
    stride = (randint(gen, 1, 4), randint(gen, 1, 4))
    want = pool(X[None, None], (ph, pw), stride=stride, padding=pad)[0, 0]
    assert_close(d2lcnn.pool2d_pad_stride(X, (ph, pw), pad, stride, mode), want)
    want = pool(X[None, None], (ph, pw))[0, 0]  # stride defaults to the window
    assert_close(d2lcnn.pool2d_pad_stride(X, (ph, pw), mode=mode), want)


@pytest.mark.parametrize("seed", SEEDS)
def test_variants_match_torch(seed):
    gen = torch.Generator().manual_seed(seed)
    g = randint(gen, 1, 4)
    ci, co, h, w = (
        g * randint(gen, 1, 4),
        g * randint(gen, 1, 4),
        randint(gen, 2, 8),
        randint(gen, 2, 8),
    )
    kh, kw = randint(gen, 1, h + 1), randint(gen, 1, w + 1)
    X, K = torch.randn(ci, h, w, generator=gen), torch.randn(co, ci // g, kh, kw, generator=gen)
    assert_close(d2lcnn.grouped_conv2d(X, K, g), F.conv2d(X[None], K, groups=g)[0])
    s = randint(gen, 1, 4)
    want = F.conv_transpose2d(X[None, :1], K[:1, :1], stride=s)[0, 0]
    assert_close(d2lcnn.conv_transpose2d(X[0], K[0, 0], s), want)


@pytest.mark.parametrize(
    "layer, size",
    [
        (nn.Conv2d(3, 8, 3), (32, 32)),
        (nn.Conv2d(64, 128, 3, stride=2, padding=1), (15, 17)),
        (nn.Conv2d(16, 8, (3, 5), dilation=2, padding=(1, 0), bias=False), (20, 21)),
        (nn.Conv2d(64, 32, 3, groups=8), (12, 12)),
        (nn.Conv2d(64, 64, 3, groups=64), (12, 12)),
        (nn.ConvTranspose2d(32, 64, 3), (10, 10)),
        (nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, groups=2), (7, 9)),
    ],
)
def test_conv_cost_matches_flop_counter(layer, size):
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        layer(torch.zeros(1, layer.in_channels, *size))
    params, flops = d2lcnn.conv_cost(layer, size)
    assert params == sum(p.numel() for p in layer.parameters())
    assert flops == counter.get_total_flops()


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="same c_i"):
        d2lcnn.corr2d_multi_in(torch.ones(2, 3, 3), torch.ones(3, 2, 2))
    with pytest.raises(ValueError, match="c_o, c_i, kh, kw"):
        d2lcnn.corr2d_multi_in_out(torch.ones(2, 3, 3), torch.ones(2, 2, 2))
    with pytest.raises(ValueError, match=r"\(c_o, c_i, 1, 1\)"):
        d2lcnn.corr2d_multi_in_out_1x1(torch.ones(2, 3, 3), torch.ones(4, 2, 3, 3))
    with pytest.raises(ValueError, match="'max' or 'avg'"):
        d2lcnn.pool2d(torch.ones(3, 3), (2, 2), "mean")
    with pytest.raises(ValueError, match="at most half"):
        d2lcnn.pool2d_pad_stride(torch.ones(4, 4), (2, 2), padding=(2, 0))
    with pytest.raises(ValueError, match="must divide"):
        d2lcnn.grouped_conv2d(torch.ones(4, 3, 3), torch.ones(3, 2, 2, 2), 2)
    with pytest.raises(ValueError, match="2-D"):
        d2lcnn.conv_transpose2d(torch.ones(1, 3, 3), torch.ones(2, 2))
    with pytest.raises(TypeError, match="nn.Conv2d"):
        d2lcnn.conv_cost(nn.Linear(3, 4), (5, 5))


# --- exercises ------------------------------------------------------------------------------


def test_hidden_cases_catch_common_mistakes():
    def avg_ignoring_padding(X, pool_size, padding=(0, 0), stride=None, mode="max"):
        if mode == "max":
            return d2lcnn.pool2d_pad_stride(X, pool_size, padding, stride, mode)
        stride = pool_size if stride is None else stride
        return F.avg_pool2d(X[None, None], pool_size, stride, padding, count_include_pad=False)[
            0, 0
        ]

    def ignoring_groups(X, K, groups):
        return F.conv2d(X[None], K.repeat(1, groups, 1, 1))[0]

    assert catches(load_all()["pool2d_pad_stride"], avg_ignoring_padding)
    assert catches(load_all()["grouped_conv2d"], ignoring_groups)
