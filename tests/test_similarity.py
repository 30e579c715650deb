"""Similarity flags: disguised copies are caught, independent correct solutions are not."""

import ast
import inspect
import re
from pathlib import Path

import d2lcnn
from d2lcnn.grading import similarity as S
from d2lcnn.grading.extract import read_submission

CORPUS = Path(__file__).parent / "grading_corpus"
EXERCISES = (
    "corr2d",
    "pool2d",
    "corr2d_multi_in",
    "corr2d_multi_in_out",
    "corr2d_multi_in_out_1x1",
)

POOL2D = """
def pool2d(X, pool_size, mode='max'):
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i, j] = X[i: i + p_h, j: j + p_w].max()
            elif mode == 'avg':
                Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
    return Y
"""

# The same function: every name changed, a docstring and comments added, reformatted.
POOL2D_RENAMED = '''
def pool2d(inp, window, mode = "max"):
    """My own pooling."""
    # window size
    a, b = window
    out = torch.zeros(( inp.shape[0]-a+1,
                        inp.shape[1]-b+1 ))
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            if mode == 'max':   # the largest
                out[r, c] = inp[r:r+a, c:c+b].max()
            elif mode == 'avg':
                out[r, c] = inp[r:r+a, c:c+b].mean()
    return out
'''

# The same again, with independent statements in another order and a helper's name changed.
CHANNELS = """
def corr2d_multi_in_out_1x1(X, K):
    c_i, h, w = X.shape
    c_o = K.shape[0]
    X = X.reshape((c_i, h * w))
    K = K.reshape((c_o, c_i))
    Y = torch.matmul(K, X)
    return Y.reshape((c_o, h, w))
"""
CHANNELS_REORDERED = """
def corr2d_multi_in_out_1x1(inputs, kernels):
    n_out = kernels.shape[0]
    n_in, height, width = inputs.shape
    kernels = kernels.reshape((n_out, n_in))
    inputs = inputs.reshape((n_in, height * width))
    return torch.matmul(kernels, inputs).reshape((n_out, height, width))
"""


def fp(source, name, owner="x"):
    return S.fingerprint(owner, source, name, set(EXERCISES) - {name})


def test_renamed_and_reformatted_copy_is_identical():
    a, b = fp(POOL2D, "pool2d"), fp(POOL2D_RENAMED, "pool2d")
    assert a.tokens == b.tokens and S.jaccard(a.hashes, b.hashes) == 1.0


def test_reordered_copy_is_caught():
    a, b = (
        fp(CHANNELS, "corr2d_multi_in_out_1x1"),
        fp(CHANNELS_REORDERED, "corr2d_multi_in_out_1x1"),
    )
    # the reordered copy also inlined the last two lines: near-identical, not identical
    assert S.jaccard(a.hashes, b.hashes) >= 0.5
    swapped = CHANNELS.replace(
        "    X = X.reshape((c_i, h * w))\n    K = K.reshape((c_o, c_i))\n",
        "    K = K.reshape((c_o, c_i))\n    X = X.reshape((c_i, h * w))\n",
    )
    assert swapped != CHANNELS
    assert fp(swapped, "corr2d_multi_in_out_1x1").tokens == a.tokens


def test_dependent_statements_keep_their_order():
    one = "def f(X):\n    X = X + 1\n    X = X * 2\n    return X\n"
    two = "def f(X):\n    X = X * 2\n    X = X + 1\n    return X\n"
    assert S.normalise(one, "f") != S.normalise(two, "f")


def test_helpers_are_part_of_the_function():
    a = "def h(X):\n    return X.unfold(0, 2, 1)\n\ndef corr2d(X, K):\n    return h(X).sum()\n"
    b = "def corr2d(X, K):\n    return helper(X).sum()\n\ndef helper(Z):\n    return Z.unfold(0, 2, 1)\n"
    c = "def h(X):\n    return X.unfold(0, 3, 1)\n\ndef corr2d(X, K):\n    return h(X).sum()\n"
    assert fp(a, "corr2d").tokens == fp(b, "corr2d").tokens != fp(c, "corr2d").tokens


def test_clusters_and_course_copies():
    course = inspect.getsource(d2lcnn.corr2d)  # pasted from the course package
    renamed = course
    for old, new in (("Y", "out"), ("h", "kh"), ("w", "kw"), ("X", "image"), ("i", "r")):
        renamed = re.sub(rf"\b{old}\b", new, renamed)
    assert "kh, kw = K.shape" in renamed
    prints = {
        "pool2d": [fp(POOL2D, "pool2d", "ann"), fp(POOL2D_RENAMED, "pool2d", "ben")],
        "corr2d": [fp(course, "corr2d", "cat"), fp(renamed, "corr2d", "dan")],
    }
    found = S.analyse(prints, S.course_fingerprints(EXERCISES))
    assert [(c.exercise, [m.owner for m in c.members]) for c in found.clusters] == [
        ("pool2d", ["ann", "ben"])
    ]
    assert sorted((e, f.owner) for e, f, _ in found.course_copies) == [
        ("corr2d", "cat"),
        ("corr2d", "dan"),
    ]


def corpus_prints(files):
    prints = {}
    for name in files:
        sub = read_submission(CORPUS / name)
        chunks = [(c.text, c.tree) for c in sub.chunks]
        for ex in EXERCISES:
            source = S.function_source(chunks, ex)
            if source:
                prints.setdefault(ex, []).append(fp(source, ex, name))
    return prints


def test_independent_correct_solutions_are_not_flagged():
    files = ["correct_loop.py", "correct_vectorized.py", "correct_imports.py"]
    found = S.analyse(corpus_prints(files), S.course_fingerprints(EXERCISES))
    assert found.clusters == []
    # correct_loop.py's corr2d is the book's listing, which is also the course's: that one
    # flag is right (a pasted copy of d2lcnn.corr2d looks the same); nothing else is flagged.
    book = ast.dump(ast.parse(inspect.getsource(d2lcnn.corr2d)).body[0].body[-4])
    loop = read_submission(CORPUS / "correct_loop.py").chunks[0].tree
    assert book in {ast.dump(n) for n in ast.walk(loop)}
    assert [(e, f.owner) for e, f, _ in found.course_copies] == [("corr2d", "correct_loop.py")]


RESIDUAL = '''
class Residual(nn.Module):
    """The book's residual block."""

    def __init__(self, input_channels, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.Conv2d(input_channels, num_channels, 3, padding=1, stride=strides)
        self.conv2 = nn.Conv2d(num_channels, num_channels, 3, padding=1)
        self.conv3 = nn.Conv2d(input_channels, num_channels, 1, stride=strides) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        return F.relu(Y + X)
'''
# Layers renamed, methods in the other order, layer definitions reordered.
RESIDUAL_DISGUISED = """
class Residual(nn.Module):
    def forward(self, inputs):
        out = F.relu(self.norm_a(self.first(inputs)))
        out = self.norm_b(self.second(out))
        if self.shortcut:
            inputs = self.shortcut(inputs)
        return F.relu(out + inputs)

    def __init__(self, c_in, c_out, use_1x1conv=False, strides=1):
        super().__init__()
        self.norm_a = nn.BatchNorm2d(c_out)
        self.norm_b = nn.BatchNorm2d(c_out)
        self.first = nn.Conv2d(c_in, c_out, 3, padding=1, stride=strides)
        self.second = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=strides) if use_1x1conv else None
"""


def test_module_exercises_renamed_layers_and_reordered_methods():
    a, b = fp(RESIDUAL, "Residual"), fp(RESIDUAL_DISGUISED, "Residual")
    assert S.jaccard(a.hashes, b.hashes) >= S.THRESHOLD
