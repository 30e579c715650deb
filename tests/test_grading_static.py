"""The grader's parts that need no sandbox: extraction, the static forbidden check, comparison, check()."""

import json

import numpy as np
import pytest
import torch

import d2lcnn
from d2lcnn.grading import load_all
from d2lcnn.grading.compare import Received, compare
from d2lcnn.grading.exercises.common import CONV_POOL_FORBIDDEN
from d2lcnn.grading.extract import Unreadable, read_submission
from d2lcnn.grading.forbidden import patterns_for, scan


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def notebook(tmp_path, cells, origin=None):
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in cells
        ],
        "metadata": {"d2lcnn": {"generated_from": origin}} if origin else {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return write(tmp_path, "nb.ipynb", json.dumps(nb))


def kept_source(sub):
    return [
        "\n".join(c.text.splitlines()[n.lineno - 1 : n.end_lineno])
        for c in sub.chunks
        for n in c.kept()
    ]


def test_extraction_keeps_definitions_only(tmp_path):
    sub = read_submission(
        notebook(
            tmp_path,
            [
                "%matplotlib inline\n!pip install x\nimport torch\nN = 3\nc = torch.nn.functional.conv2d",
                "X = torch.ones(3)\nX[0] = 2\ntrain(net)\nfor i in range(9): pass",
                "%%time\ndef hidden(): pass",
                "def corr2d(X, K):\n    return X\nclass Net: pass\nlr, num_epochs = 0.1, 10",
            ],
            origin="solutions/02_conv_layer.ipynb",
        )
    )
    assert sub.notebook == "solutions/02_conv_layer.ipynb"
    assert kept_source(sub) == [
        "import torch",
        "N = 3",
        "c = torch.nn.functional.conv2d",
        "def corr2d(X, K):\n    return X",
        "class Net: pass",
        "lr, num_epochs = 0.1, 10",
    ]
    assert sub.defined() == {"N", "c", "corr2d", "Net", "lr", "num_epochs"}
    assert sub.chunks[-1].filename == "cell 4"


def test_assignments_reading_what_a_dropped_statement_built_are_dropped(tmp_path):
    """`lr = setting.lr` after `setting = training_setting(...)` could only raise NameError."""
    sub = read_submission(
        notebook(
            tmp_path,
            [
                "setting = d2lcnn.training_setting('lenet', 'cpu')",
                "lr, num_epochs = setting.lr, setting.num_epochs\nlater = lambda: setting.lr",
                "half = lr / 2\nsetting = 3\nsize = setting",
            ],
        )
    )
    assert kept_source(sub) == ["later = lambda: setting.lr", "setting = 3", "size = setting"]


def test_syntax_error_in_one_cell_leaves_the_others(tmp_path):
    sub = read_submission(
        notebook(tmp_path, ["def corr2d(X, K):\n    return X", "def pool2d(X, p)\n    pass"])
    )
    assert sub.defined() == {"corr2d"}
    assert sub.broken_defs == {"pool2d": "cell 2, line 1: expected ':'"}


@pytest.mark.parametrize(
    "text, reason",
    [
        ("{not json", "not valid JSON"),
        ('{"cells": 3}', "not a Jupyter notebook"),
        ("[1, 2]", "not a Jupyter notebook"),
    ],
)
def test_unreadable_notebooks(tmp_path, text, reason):
    with pytest.raises(Unreadable, match=reason):
        read_submission(write(tmp_path, "bad.ipynb", text))


def hits(tmp_path, code, name="corr2d"):
    sub = read_submission(write(tmp_path, "s.py", code))
    return [h[0] for h in scan(sub, name, patterns_for(load_all()[name]))]


@pytest.mark.parametrize(
    "code, found",
    [
        ("def corr2d(X, K):\n    return F.conv2d(X, K)", "torch.nn.functional.conv2d"),
        (
            "import torch.nn.functional as G\ndef corr2d(X, K):\n    return G.conv2d(X, K)",
            "torch.nn.functional.conv2d",
        ),
        (
            "from torch.nn.functional import conv2d as c\ndef corr2d(X, K):\n    return c(X, K)",
            "torch.nn.functional.conv2d",
        ),
        ("c = F.conv2d\ndef corr2d(X, K):\n    return c(X, K)", "torch.nn.functional.conv2d"),
        ("def corr2d(X, K):\n    return getattr(F, 'conv2d')(X, K)", "torch.nn.functional.conv2d"),
        ("def corr2d(X, K):\n    return vars(torch)['conv2d'](X, K)", "torch.conv2d"),
        (
            "def corr2d(X, K):\n    return torch.ops.aten.convolution(X, K)",
            "torch.ops.aten.convolution",
        ),
        ("def corr2d(X, K):\n    return torch._C._nn.im2col(X, K)", "torch._C._nn.im2col"),
        (
            "def corr2d(X, K):\n    import scipy.signal as s\n    return s.correlate2d(X, K)",
            "scipy.signal.correlate2d",
        ),
        (
            "from torch.nn.functional import *\ndef corr2d(X, K):\n    return unfold(X, K.shape)",
            "torch.nn.functional.unfold",
        ),
        ("def corr2d(X, K):\n    return nn.Conv2d(1, 1, K.shape)(X)", "torch.nn.Conv2d"),
        (
            "def helper(X, K):\n    return torch.nn.MaxPool2d(2)(X)\ndef corr2d(X, K):\n    return helper(X, K)",
            "torch.nn.MaxPool2d",
        ),
        (
            "from d2lcnn import corr2d as mine\ndef corr2d(X, K):\n    return mine(X, K)",
            "d2lcnn.corr2d",
        ),
        ("from d2lcnn import corr2d", "d2lcnn.corr2d"),
        ("corr2d = d2lcnn.conv_layer.corr2d", "d2lcnn.conv_layer.corr2d"),
        (
            "def corr2d(X, K):\n    return d2lcnn.grading.EXERCISES['corr2d'].reference(X, K)",
            "d2lcnn.grading",
        ),
    ],
)
def test_static_check_finds(tmp_path, code, found):
    assert found in hits(tmp_path, code)


@pytest.mark.parametrize(
    "code",
    [
        # allowed: views, einsum, reductions, another exercise's answer, forbidden code elsewhere
        "def corr2d(X, K):\n    W = X.unfold(0, K.shape[0], 1).unfold(1, K.shape[1], 1)\n"
        "    return torch.einsum('ijab,ab->ij', W, K)",
        "def corr2d(X, K):\n    return torch.tensor(0.0)\ndef check_mine():\n    return F.conv2d",
        "def corr2d(X, K):\n    F = K.shape[0]\n    return X[:F]",
        "def corr2d(X, K):\n    return torch.Tensor.unfold(X, 0, 1, 1).sum()",
        # a first try that the student later replaced
        "def corr2d(X, K):\n    return F.conv2d(X, K)\ndef corr2d(X, K):\n    return X.sum()",
    ],
)
def test_static_check_allows(tmp_path, code):
    assert hits(tmp_path, code) == []


def test_other_exercises_may_use_the_course_answer(tmp_path):
    code = "def corr2d_multi_in(X, K):\n    return sum(d2lcnn.corr2d(x, k) for x, k in zip(X, K))"
    assert hits(tmp_path, code, "corr2d_multi_in") == []


def test_conv_pool_patterns_cover_the_primitives():
    from fnmatch import fnmatchcase

    for name in (
        "torch.nn.functional.conv2d",
        "torch.nn.functional.max_pool2d",
        "torch.nn.functional.unfold",
        "torch.conv2d",
        "torch.max_pool2d",
        "torch.nn.Conv2d",
        "torch.nn.AvgPool2d",
        "torch.nn.Unfold",
        "scipy.signal.correlate2d",
        "torch.ops.aten.convolution",
        "torch._C._nn.avg_pool2d",
    ):
        assert any(fnmatchcase(name, p) for p in CONV_POOL_FORBIDDEN), name
    for name in (
        "torch.Tensor.unfold",
        "torch.einsum",
        "torch.matmul",
        "torch.sum",
        "torch.nn.functional.pad",
    ):
        assert not any(fnmatchcase(name, p) for p in CONV_POOL_FORBIDDEN), name


def test_compare_messages():
    assert compare(np.ones((2, 2)), torch.ones(2, 2)) == (True, "ok")
    assert compare(np.ones((2, 2)), Received("list"))[1] == "expected a tensor, got list"
    ok, message = compare((np.ones(2), np.zeros(2)), (torch.ones(2), torch.ones(2)))
    assert not ok and message.startswith("item 1 of the returned tuple")
    ok, message = compare(np.arange(4.0), torch.tensor([0.0, 1.0, 7.0, float("nan")]))
    assert message == "2 of 4 values differ; first at position (2,): expected 2, got 7"


def test_check_reports(capsys):
    d2lcnn.check("corr2d", d2lcnn.corr2d)
    assert capsys.readouterr().out.startswith(
        "corr2d: 3/3 public cases passed (all public cases passed"
    )

    def corr2d(X, K):
        return X[100]

    d2lcnn.check("corr2d", corr2d)
    out = capsys.readouterr().out
    assert "0/3 public cases passed" in out and "IndexError" in out and "`return X[100]`" in out

    def corr2d(X, K):
        return torch.nn.functional.conv2d(X[None, None], K[None, None])[0, 0]

    d2lcnn.check("corr2d", corr2d)
    out = capsys.readouterr().out
    assert "3/3" in out and "uses torch.nn.functional.conv2d" in out and "0 points" in out
