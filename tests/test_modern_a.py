"""Modern CNNs, part A: AlexNet, VGG, NiN and GoogLeNet (notebooks 08-11).

Each network's output shape and parameter count are checked against counts
written out here by hand from the architectures (conv: c_in * c_out * k * k + c_out,
dense: n_in * n_out + n_out), independently of the model code; each block's
output shape against its definition; every exercise's reference against the
real layers. What every exercise must satisfy is tested in ``test_exercises.py``.
"""

import pytest
import torch
from torch import nn

import d2lcnn
from conftest import catches, num_params
from conftest import conv_params as conv
from conftest import dense_params as dense
from d2lcnn.grading import load_all

EXERCISES = ("alexnet_output_size", "vgg_params", "nin_block_params", "inception_params")


def inception(c_in, c1, c2, c3, c4):
    return (
        conv(c_in, c1, 1)
        + conv(c_in, c2[0], 1)
        + conv(c2[0], c2[1], 3)
        + conv(c_in, c3[0], 1)
        + conv(c3[0], c3[1], 5)
        + conv(c_in, c4, 1)
    )


GOOGLENET_BLOCKS = [  # (in_channels, c1, c2, c3, c4), stages b3, b4, b5
    (192, 64, (96, 128), (16, 32), 32),
    (256, 128, (128, 192), (32, 96), 64),
    (480, 192, (96, 208), (16, 48), 64),
    (512, 160, (112, 224), (24, 64), 64),
    (512, 128, (128, 256), (24, 64), 64),
    (512, 112, (144, 288), (32, 64), 64),
    (528, 256, (160, 320), (32, 128), 128),
    (832, 256, (160, 320), (32, 128), 128),
    (832, 384, (192, 384), (48, 128), 128),
]

HAND_COUNTS = {
    "alexnet": (
        conv(1, 96, 11)
        + conv(96, 256, 5)
        + conv(256, 384, 3)
        + conv(384, 384, 3)
        + conv(384, 256, 3)
        + dense(256 * 5 * 5, 4096)
        + dense(4096, 4096)
        + dense(4096, 10)
    ),
    "vgg11": (
        conv(1, 16, 3)
        + conv(16, 32, 3)
        + conv(32, 64, 3)
        + conv(64, 64, 3)
        + conv(64, 128, 3)
        + 3 * conv(128, 128, 3)
        + dense(128 * 7 * 7, 4096)
        + dense(4096, 4096)
        + dense(4096, 10)
    ),
    "nin": sum(
        conv(c_in, c_out, k) + 2 * conv(c_out, c_out, 1)
        for c_in, c_out, k in ((1, 96, 11), (96, 256, 5), (256, 384, 3), (384, 10, 3))
    ),
    "googlenet": (
        conv(1, 64, 7)
        + conv(64, 64, 1)
        + conv(64, 192, 3)
        + sum(inception(*b) for b in GOOGLENET_BLOCKS)
        + dense(1024, 10)
    ),
}
NETWORKS = {  # constructor and the book's input size
    "alexnet": (d2lcnn.alexnet, 224),
    "vgg11": (d2lcnn.vgg11, 224),
    "nin": (d2lcnn.nin, 224),
    "googlenet": (d2lcnn.googlenet, 96),
}


# --- the networks ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
def test_network_output_shape(name):
    make, size = NETWORKS[name]
    torch.manual_seed(0)
    net = make().eval()
    with torch.no_grad():
        Y = net(torch.randn(1, 1, size, size))
    assert Y.shape == (1, 10)
    assert torch.isfinite(Y).all()


@pytest.mark.parametrize("name", NETWORKS)
def test_network_parameter_count(name):
    with torch.device("meta"):  # shapes only: no memory, no initialization cost
        net = NETWORKS[name][0]()
    assert num_params(net) == HAND_COUNTS[name]


def test_book_totals():
    # The totals the notebooks print, as plain numbers.
    assert HAND_COUNTS == {
        "alexnet": 46_764_746,
        "vgg11": 43_093_322,
        "nin": 1_992_166,
        "googlenet": 5_977_530,
    }


def test_vgg_from_arch_and_ratio():
    with torch.device("meta"):
        full = d2lcnn.vgg11(ratio=1)
        same = d2lcnn.vgg(d2lcnn.VGG11_ARCH)
    assert num_params(full) == num_params(same) == 128_806_154
    assert d2lcnn.VGG11_ARCH == ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


def test_alexnet_layers_follow_the_seed():
    net = d2lcnn.alexnet()
    convs = [m for m in net if isinstance(m, nn.Conv2d)]
    assert [
        (m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0]) for m in convs
    ] == [
        (1, 96, 11, 4, 1),
        (96, 256, 5, 1, 2),
        (256, 384, 3, 1, 1),
        (384, 384, 3, 1, 1),
        (384, 256, 3, 1, 1),
    ]
    assert [m.p for m in net if isinstance(m, nn.Dropout)] == [0.5, 0.5]
    assert net[14].in_features == 6400


def test_networks_train_one_step():
    # Gradients reach the first layer of the cheapest network; the others share its layer types.
    torch.manual_seed(0)
    net = d2lcnn.googlenet()
    loss = nn.functional.cross_entropy(net(torch.randn(2, 1, 96, 96)), torch.tensor([0, 1]))
    loss.backward()
    assert net[0][0].weight.grad.abs().sum() > 0


def test_generated_modules_and_functions_share_names():
    # `d2lcnn.alexnet` is the constructor; the module is `d2lcnn.chapters.alexnet`.
    from d2lcnn.chapters.alexnet import alexnet
    from d2lcnn.chapters.googlenet import Inception

    assert d2lcnn.alexnet is alexnet and d2lcnn.Inception is Inception
    for name in ("alexnet", "vgg", "vgg11", "nin", "googlenet", "vgg_block", "nin_block"):
        assert callable(getattr(d2lcnn, name)), name


# --- the blocks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "num_convs, c_in, c_out, h, w",
    [(1, 1, 4, 8, 8), (2, 3, 8, 32, 32), (3, 4, 2, 7, 10), (1, 2, 2, 2, 2)],
)
def test_vgg_block_halves_height_and_width(num_convs, c_in, c_out, h, w):
    block = d2lcnn.vgg_block(num_convs, c_in, c_out)
    assert block(torch.zeros(2, c_in, h, w)).shape == (2, c_out, h // 2, w // 2)
    assert sum(isinstance(m, nn.Conv2d) for m in block) == num_convs
    assert num_params(block) == conv(c_in, c_out, 3) + (num_convs - 1) * conv(c_out, c_out, 3)


@pytest.mark.parametrize(
    "k, s, p, n", [(11, 4, 0, 224), (5, 1, 2, 26), (3, 1, 1, 12), (3, 2, 0, 9)]
)
def test_nin_block_shape_and_params(k, s, p, n):
    block = d2lcnn.nin_block(3, 6, kernel_size=k, strides=s, padding=p)
    out = (n + 2 * p - k) // s + 1
    assert block(torch.zeros(1, 3, n, n)).shape == (1, 6, out, out)
    assert num_params(block) == conv(3, 6, k) + 2 * conv(6, 6, 1)
    assert all(isinstance(m, nn.ReLU) for m in block[1::2])


@pytest.mark.parametrize(
    "args, hw",
    [
        (GOOGLENET_BLOCKS[0], (12, 12)),
        (GOOGLENET_BLOCKS[-1], (3, 3)),
        ((5, 2, (3, 4), (1, 2), 3), (7, 4)),
        ((4, 1, [2, 2], [2, 2], 1), (1, 1)),
    ],
)
def test_inception_keeps_size_and_concatenates_paths(args, hw):
    c_in, c1, c2, c3, c4 = args
    torch.manual_seed(0)
    block = d2lcnn.Inception(*args)
    X = torch.randn(2, c_in, *hw)
    Y = block(X)
    assert Y.shape == (2, c1 + c2[1] + c3[1] + c4, *hw)
    assert num_params(block) == inception(*args)
    # Path 1 is the first c1 channels: ReLU of a 1x1 convolution.
    assert torch.allclose(Y[:, :c1], torch.relu(block.p1_1(X)))


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="num_convs"):
        d2lcnn.vgg_block(0, 3, 8)
    with pytest.raises(ValueError, match="5 blocks"):
        d2lcnn.vgg(((1, 64), (1, 128)))
    with pytest.raises(ValueError, match="ratio"):
        d2lcnn.vgg11(ratio=0)
    with pytest.raises(ValueError, match="ratio"):
        d2lcnn.vgg11(ratio=2.5)
    with pytest.raises(ValueError, match="c2 must be a pair"):
        d2lcnn.Inception(8, 4, (4, 4, 4), (2, 2), 2)


# --- exercises ------------------------------------------------------------------------------


def test_exercises_forbid_building_the_layers():
    for name in EXERCISES:
        assert load_all()[name].forbidden, f"{name}: building the layers must be forbidden"


def test_references_count_in_ints():
    for name in EXERCISES:
        ex = load_all()[name]
        assert all(isinstance(case.call(ex.reference), int) for case in ex.cases(0)), name


@pytest.mark.parametrize("n", [65, 193, 224, 227])
def test_alexnet_output_size_reference_matches_the_network(n):
    ref = load_all()["alexnet_output_size"].reference
    features = d2lcnn.alexnet()[:13].eval()  # everything before nn.Flatten()
    with torch.no_grad():
        assert features(torch.zeros(1, 1, n, n)).shape == (1, 256, ref(n), ref(n))


def test_parameter_references_match_the_layers():
    refs = {name: load_all()[name].reference for name in EXERCISES}
    with torch.device("meta"):
        assert refs["vgg_params"](d2lcnn.VGG11_ARCH, 4) == num_params(d2lcnn.vgg11(ratio=4))
        arch = ((2, 32), (1, 48), (3, 64), (1, 80), (2, 96))
        assert refs["vgg_params"](arch, 2) == num_params(d2lcnn.vgg([(n, c // 2) for n, c in arch]))
        for args in [(1, 96, 11), (96, 256, 5), (7, 3, 2)]:
            block = d2lcnn.nin_block(*args, strides=1, padding=0)
            assert refs["nin_block_params"](*args) == num_params(block)
        for args in GOOGLENET_BLOCKS:
            assert refs["inception_params"](*args) == num_params(d2lcnn.Inception(*args))


def test_hidden_cases_catch_common_mistakes():
    def no_padding(n):  # forgets conv1's padding of 1
        n = ((n - 11) // 4 + 1 - 3) // 2 + 1  # conv1, pool1
        n = (n - 3) // 2 + 1  # conv2 keeps the size; pool2
        return (n - 3) // 2 + 1  # conv3..conv5 keep it; pool3

    def no_biases(conv_arch, ratio=1):
        total, c_in = 0, 1
        for num_convs, c_out in conv_arch:
            for _ in range(num_convs):
                total, c_in = total + c_in * (c_out // ratio) * 9, c_out // ratio
        return total + c_in * 49 * 4096 + 4096 * 4096 + 4096 * 10

    def one_1x1(c_in, c_out, k):
        return conv(c_in, c_out, k) + conv(c_out, c_out, 1)

    def all_3x3(c_in, c1, c2, c3, c4):  # treats path 3's 5x5 as 3x3
        return inception(c_in, c1, c2, (c3[0], 0), c4) + conv(c3[0], c3[1], 3)

    for name, wrong in [
        ("alexnet_output_size", no_padding),
        ("vgg_params", no_biases),
        ("nin_block_params", one_1x1),
        ("inception_params", all_3x3),
    ]:
        assert catches(load_all()[name], wrong), name
