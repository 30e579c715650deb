"""Known mistakes of the convolution and pooling exercises, as the functions they compute.

Each function takes an exercise's arguments and returns what a student who made
that mistake returns, built on torch's own ops like the references. The chapter
modules register them (``mistakes=``); :mod:`d2lcnn.grading.mistakes` matches a
failed case's value against them.
"""

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F

Mistake = tuple[Callable[..., Any], str]  # (function, sentence), as Exercise.mistakes holds them


def f64(t: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(t, dtype=torch.float64)


def pair(v: int | tuple[int, int]) -> tuple[int, int]:
    """``3`` -> ``(3, 3)``; a pair stays a pair."""
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def corr(
    X: torch.Tensor,
    K: torch.Tensor,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Cross-correlation of (h, w) X with (kh, kw) K: ``F.conv2d`` in float64."""
    return F.conv2d(
        f64(X)[None, None], f64(K)[None, None], padding=padding, stride=stride, dilation=dilation
    )[0, 0]  # (oh, ow)


def pad_one_side(X: torch.Tensor, padding: int | tuple[int, int], top_left: bool) -> torch.Tensor:
    """(h, w) X with ``padding`` zeros on the top and left only (or the bottom and right only)."""
    ph, pw = pair(padding)
    return F.pad(f64(X), (pw, 0, ph, 0) if top_left else (0, pw, 0, ph))


def ceil_extra(size: int, kernel: int, stride: int) -> int:
    """Zeros to add after a padded ``size`` so that its output size rounds up, not down."""
    out = math.ceil((size - kernel) / stride) + 1
    return (out - 1) * stride + kernel - size


def short(Y: torch.Tensor) -> torch.Tensor:
    """The last row and the last column dropped: a loop over ``range(h - kh)``."""
    return Y[..., :-1, :-1]


def zero_edge(Y: torch.Tensor) -> torch.Tensor:
    """The last row and the last column left at zero: loops that stop one short of the end."""
    Y = Y.clone()
    Y[..., -1, :] = 0
    Y[..., :, -1] = 0
    return Y


# ---- sentences shared by several exercises ------------------------------------------------

FLIPPED = (
    "Your output equals a cross-correlation with the kernel flipped: that is convolution, "
    "not cross-correlation; slide K as it is."
)
SHORT = (
    "Your output is one row and one column short: it has h - kh + 1 rows and w - kw + 1 "
    "columns, so loop over range(h - kh + 1) and range(w - kw + 1)."
)
ZERO_EDGE = (
    "Your last row and last column are left at 0: the loops stop one short; "
    "range(Y.shape[0]) already counts every output row."
)
TRANSPOSED = (
    "Your output is the correct one transposed: Y[i, j] belongs to the window at row i, "
    "column j (check which index runs over the height)."
)
KERNEL_T = (
    "Your output equals a cross-correlation with K transposed: K[a, b] multiplies "
    "X[i + a, j + b], with a along the height."
)


def corr2d_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``corr2d(X, K)`` and ``corr2d_vec(X, K)``."""
    return {
        "kernel flipped": (lambda X, K: corr(X, f64(K).flip(0, 1)), FLIPPED),
        "one row and column short": (lambda X, K: short(corr(X, K)), SHORT),
        "last row and column left at zero": (lambda X, K: zero_edge(corr(X, K)), ZERO_EDGE),
        "transposed": (lambda X, K: corr(X, K).T, TRANSPOSED),
        "kernel transposed": (lambda X, K: corr(X, f64(K).T), KERNEL_T),
    }


# ---- padding, stride, dilation -------------------------------------------------------------


def corr_ceil(
    X: torch.Tensor,
    K: torch.Tensor,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> torch.Tensor:
    """Padded, strided cross-correlation whose output size rounds up: the last window hangs over."""
    (ph, pw), (sh, sw) = pair(padding), pair(stride)
    Xp = F.pad(f64(X), (pw, pw, ph, ph))  # (h + 2 ph, w + 2 pw)
    kh, kw = K.shape
    extra_h, extra_w = ceil_extra(Xp.shape[0], kh, sh), ceil_extra(Xp.shape[1], kw, sw)
    if extra_h == extra_w == 0:
        raise ValueError("the sizes divide: ceil and floor agree")
    return corr(F.pad(Xp, (0, extra_w, 0, extra_h)), K, stride=(sh, sw))


def swapped(v: int | tuple[int, int]) -> tuple[int, int]:
    """A pair read as (width, height)."""
    h, w = pair(v)
    return w, h


def pad_stride_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``corr2d_pad_stride(X, K, padding=0, stride=1)``."""
    return {
        "padding on the top and left only": (
            lambda X, K, padding=0, stride=1: corr(pad_one_side(X, padding, True), K, 0, stride),
            "Your output equals padding on the top and left only: pad p_h rows at the top "
            "and p_h at the bottom, p_w columns on the left and p_w on the right.",
        ),
        "padding on the bottom and right only": (
            lambda X, K, padding=0, stride=1: corr(pad_one_side(X, padding, False), K, 0, stride),
            "Your output equals padding on the bottom and right only: pad p_h rows at the top "
            "and p_h at the bottom, p_w columns on the left and p_w on the right.",
        ),
        "ceil instead of floor": (
            corr_ceil,
            "Your output has a row or column too many: its size rounds (h + 2p - k) / s up; "
            "a window must fit inside the padded input, so round down: "
            "floor((h + 2p - k) / s) + 1.",
        ),
        "stride ignored": (
            lambda X, K, padding=0, stride=1: corr(X, K, padding, 1),
            "Your output ignores the stride: it is the stride-1 output; move the window by "
            "stride rows and columns.",
        ),
        "padding ignored": (
            lambda X, K, padding=0, stride=1: corr(X, K, 0, stride),
            "Your output ignores the padding: add the zeros around X before sliding K.",
        ),
        "height and width swapped": (
            lambda X, K, padding=0, stride=1: corr(X, K, swapped(padding), swapped(stride)),
            "Your output uses padding and stride pairs as (width, height): they are "
            "(height, width), so padding[0] and stride[0] apply to the rows.",
        ),
    }


def wider(dilation: int | tuple[int, int]) -> tuple[int, int]:
    """The dilation plus one in both directions: d - 1 zeros inserted counted as d."""
    dh, dw = pair(dilation)
    return dh + 1, dw + 1


def dilated_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``corr2d_dilated(X, K, dilation=1)``."""
    return {
        "dilation ignored": (
            lambda X, K, dilation=1: corr(X, K),
            "Your output ignores the dilation: it is plain cross-correlation; K's taps must be "
            "dilation pixels apart.",
        ),
        "dilation off by one": (
            lambda X, K, dilation=1: corr(X, K, dilation=wider(dilation)),
            "Your taps are dilation + 1 pixels apart: with dilation d, the taps are d pixels "
            "apart (d - 1 skipped pixels between them).",
        ),
        "stride instead of dilation": (
            lambda X, K, dilation=1: corr(X, K, stride=dilation),
            "Your output equals a strided cross-correlation: dilation spreads K's taps apart, "
            "while the window still moves one pixel at a time.",
        ),
        "height and width swapped": (
            lambda X, K, dilation=1: corr(X, K, dilation=swapped(dilation)),
            "Your output uses the dilation pair as (width, height): it is (height, width), "
            "so dilation[0] spreads the rows.",
        ),
    }


# ---- channels ------------------------------------------------------------------------------


def multi(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(c_i, h, w) X with (c_o, c_i, kh, kw) K: ``F.conv2d`` in float64, (c_o, oh, ow)."""
    return F.conv2d(f64(X)[None], f64(K))[0]


def per_channel(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """(c_i, h, w) X with (c_i, kh, kw) K, channel by channel, not summed: (c_i, oh, ow)."""
    return F.conv2d(f64(X)[None], f64(K)[:, None], groups=X.shape[0])[0]


def multi_in_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``corr2d_multi_in(X, K)``."""
    return {
        "channels not summed": (
            per_channel,
            "Your output keeps one map per input channel: add the channels' cross-correlations "
            "into one (h - kh + 1, w - kw + 1) map.",
        ),
        "channels averaged": (
            lambda X, K: per_channel(X, K).mean(0),
            "Your output is the mean over the input channels: add them up instead (sum, not mean).",
        ),
        "first channel only": (
            lambda X, K: corr(f64(X)[0], f64(K)[0]),
            "Your output uses only the first channel: sum the cross-correlations of every "
            "channel X[i] with its kernel K[i].",
        ),
        "kernel flipped": (
            lambda X, K: per_channel(X, f64(K).flip(-2, -1)).sum(0),
            FLIPPED,
        ),
    }


CHANNEL_LAST = (
    "Your output has the channel axis last, (h, w, c_o): stack the output channels on the "
    "first axis, (c_o, h, w) (torch.stack(..., 0))."
)
SUM_OUT = (
    "Your output sums over the output channels too: each kernel K[o] gives its own output "
    "channel; stack them instead of adding them."
)


def multi_in_out_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``corr2d_multi_in_out(X, K)``."""
    return {
        "channel axis last": (lambda X, K: multi(X, K).permute(1, 2, 0), CHANNEL_LAST),
        "sums over output channels": (lambda X, K: multi(X, K).sum(0), SUM_OUT),
        "input channels not summed": (
            lambda X, K: torch.stack([per_channel(X, k) for k in f64(K)]),
            "Your output keeps one map per input channel for each kernel: sum over the input "
            "channels (corr2d_multi_in) for each output channel.",
        ),
        "kernel flipped": (lambda X, K: multi(X, f64(K).flip(-2, -1)), FLIPPED),
    }


def matmul_1x1(X: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """(c_o, c_i) W times (c_i, h, w) X pixel by pixel: (c_o, h, w)."""
    c_i, h, w = X.shape
    return (W @ f64(X).reshape(c_i, h * w)).reshape(-1, h, w)


def multi_1x1_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``corr2d_multi_in_out_1x1(X, K)``."""
    return {
        "kernel reshaped as (c_i, c_o)": (
            lambda X, K: matmul_1x1(X, f64(K).reshape(K.shape[1], K.shape[0]).T),
            "Your weights are K reshaped as (c_i, c_o) and transposed, which mixes them up: "
            "K is (c_o, c_i, 1, 1), so K.reshape(c_o, c_i) is the matrix to multiply by.",
        ),
        "pixels by channels reshaped as channels first": (
            lambda X, K: (
                f64(X).reshape(X.shape[0], -1).T @ f64(K).reshape(K.shape[0], -1).T
            ).reshape(K.shape[0], X.shape[1], X.shape[2]),
            "Your output reshapes a (h * w, c_o) product straight to (c_o, h, w), which mixes "
            "pixels and channels: transpose it to (c_o, h * w) first.",
        ),
        "channel axis last": (lambda X, K: multi(X, K).permute(1, 2, 0), CHANNEL_LAST),
        "sums over output channels": (lambda X, K: multi(X, K).sum(0), SUM_OUT),
    }


# ---- pooling -------------------------------------------------------------------------------


def pool(
    X: torch.Tensor,
    pool_size: tuple[int, int],
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] | None = None,
    mode: str = "max",
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> torch.Tensor:
    """Pooling of (h, w) X by torch's own ops (zeros padded and counted, for average pooling)."""
    stride = pool_size if stride is None else stride
    X4 = f64(X)[None, None]  # (1, 1, h, w)
    if mode == "max":
        return F.max_pool2d(X4, pool_size, stride, padding, ceil_mode=ceil_mode)[0, 0]
    return F.avg_pool2d(X4, pool_size, stride, padding, ceil_mode, count_include_pad)[0, 0]


def window_sum(X: torch.Tensor, pool_size: tuple[int, int]) -> torch.Tensor:
    """The sum of every window at stride 1: average pooling without the division."""
    ph, pw = pair(pool_size)
    return pool(X, (ph, pw), 0, 1, "avg") * (ph * pw)


def avg_only(mode: str) -> None:
    """A mistake of average pooling cannot be the student's value in max mode."""
    if mode != "avg":
        raise ValueError("max mode")


def pool2d_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``pool2d(X, pool_size, mode='max')`` (stride 1, no padding)."""

    def summed(X: torch.Tensor, pool_size: tuple[int, int], mode: str = "max") -> torch.Tensor:
        avg_only(mode)
        return window_sum(X, pool_size)

    def square(X: torch.Tensor, pool_size: tuple[int, int], mode: str = "max") -> torch.Tensor:
        avg_only(mode)
        return window_sum(X, pool_size) / pool_size[0] ** 2

    # first: where the output is a single value, both of these give it, and this is likelier
    return {
        "one row and column short": (
            lambda X, pool_size, mode="max": short(pool(X, pool_size, 0, 1, mode)),
            "Your output is one row and one column short: it has h - p_h + 1 rows and "
            "w - p_w + 1 columns.",
        ),
        "stride = window": (
            lambda X, pool_size, mode="max": pool(X, pool_size, 0, None, mode),
            "Your output steps the window by its own size (stride = pool_size): this pool2d "
            "moves it one pixel at a time (stride 1), so it has h - p_h + 1 rows.",
        ),
        "sum, not average": (
            summed,
            "Your average pooling returns the window's sum: divide it by the number of values "
            "in the window, p_h * p_w (or use .mean()).",
        ),
        "average divided by p_h * p_h": (
            square,
            "Your average divides by p_h * p_h, as if the window were square: divide by p_h * p_w.",
        ),
        "max and avg swapped": (
            lambda X, pool_size, mode="max": pool(
                X, pool_size, 0, 1, "avg" if mode == "max" else "max"
            ),
            "Your output is the other mode's: mode='max' takes the largest value of each "
            "window, mode='avg' its mean.",
        ),
    }


def pool_pad_stride_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``pool2d_pad_stride(X, pool_size, padding=(0, 0), stride=None, mode='max')``."""

    def stride_one(
        X: torch.Tensor,
        pool_size: tuple[int, int],
        padding: tuple[int, int] = (0, 0),
        stride: tuple[int, int] | None = None,
        mode: str = "max",
    ) -> torch.Tensor:
        if stride is not None:
            raise ValueError("the stride was given")
        return pool(X, pool_size, padding, 1, mode)

    def zero_padded_max(
        X: torch.Tensor,
        pool_size: tuple[int, int],
        padding: tuple[int, int] = (0, 0),
        stride: tuple[int, int] | None = None,
        mode: str = "max",
    ) -> torch.Tensor:
        if mode != "max":
            raise ValueError("avg mode")
        ph, pw = pair(padding)
        return pool(F.pad(f64(X), (pw, pw, ph, ph)), pool_size, 0, stride, "max")

    def uncounted_padding(
        X: torch.Tensor,
        pool_size: tuple[int, int],
        padding: tuple[int, int] = (0, 0),
        stride: tuple[int, int] | None = None,
        mode: str = "max",
    ) -> torch.Tensor:
        avg_only(mode)
        return pool(X, pool_size, padding, stride, "avg", count_include_pad=False)

    return {
        "stride 1 by default": (
            stride_one,
            "Your output moves the window by 1 when stride is None: the default stride is "
            "the window's size (stride = pool_size), so windows do not overlap.",
        ),
        "padding on the top and left only": (
            lambda X, pool_size, padding=(0, 0), stride=None, mode="max": pool(
                pad_one_side(X, padding, True), pool_size, 0, stride, mode
            ),
            "Your output equals padding on the top and left only: pad p_h rows at the top "
            "and p_h at the bottom, p_w columns on the left and p_w on the right.",
        ),
        "ceil instead of floor": (
            lambda X, pool_size, padding=(0, 0), stride=None, mode="max": pool(
                X, pool_size, padding, stride, mode, ceil_mode=True
            ),
            "Your output has a row or column too many: its size rounds (h + 2p - p_h) / s up; "
            "round down, floor((h + 2p - p_h) / s) + 1, so that every window starts inside.",
        ),
        "max pads with zeros": (
            zero_padded_max,
            "Your max pooling pads with zeros, and a padded 0 beats negative values: "
            "pad with -inf for max (the zeros are for average pooling).",
        ),
        "average skips the padding": (
            uncounted_padding,
            "Your average divides by the pixels inside the image only: the padded zeros "
            "count too, so divide by p_h * p_w everywhere.",
        ),
        "padding ignored": (
            lambda X, pool_size, padding=(0, 0), stride=None, mode="max": pool(
                X, pool_size, 0, stride, mode
            ),
            "Your output ignores the padding: pad X before pooling.",
        ),
    }


# ---- convolution variants ------------------------------------------------------------------


def grouped(X: torch.Tensor, K: torch.Tensor, groups: int) -> torch.Tensor:
    """(c_i, h, w) X with (c_o, c_i // groups, kh, kw) K in ``groups`` groups: (c_o, oh, ow)."""
    return F.conv2d(f64(X)[None], f64(K), groups=groups)[0]


def interleave(T: torch.Tensor, groups: int) -> torch.Tensor:
    """Channels regrouped by stride: channel i goes to group i % groups, not i // (c / groups)."""
    c = T.shape[0]
    if groups == 1 or groups == c:
        raise ValueError("blocks and strides agree")
    return T.reshape(c // groups, groups, *T.shape[1:]).transpose(0, 1).reshape(T.shape)


def grouped_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``grouped_conv2d(X, K, groups)``."""
    return {
        "groups ignored": (
            lambda X, K, groups: multi(X, f64(K).repeat(1, groups, 1, 1)),
            "Your output lets every kernel see all input channels (one group): kernel o sees "
            "only its group's c_i / groups channels.",
        ),
        "groups take every g-th channel": (
            lambda X, K, groups: grouped(interleave(f64(X), groups), K, groups),
            "Your groups take every groups-th input channel: group j takes the consecutive "
            "channels j * c_i / groups up to (j + 1) * c_i / groups - 1.",
        ),
        "output groups interleaved": (
            lambda X, K, groups: interleave(grouped(X, K, groups), K.shape[0] // groups),
            "Your output channels are interleaved across groups: concatenate the groups' "
            "outputs one after the other (torch.cat(..., 0)).",
        ),
        "kernel flipped": (lambda X, K, groups: grouped(X, f64(K).flip(-2, -1), groups), FLIPPED),
    }


def transposed(X: torch.Tensor, K: torch.Tensor, stride: int = 1) -> torch.Tensor:
    """Transposed convolution of (h, w) X with (kh, kw) K by ``F.conv_transpose2d``, float64."""
    return F.conv_transpose2d(f64(X)[None, None], f64(K)[None, None], stride=stride)[0, 0]


def conv_transpose_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``conv_transpose2d(X, K, stride=1)``."""
    return {
        "stride ignored": (
            lambda X, K, stride=1: transposed(X, K),
            "Your output ignores the stride: input value X[i, j] adds X[i, j] * K at "
            "(i * stride, j * stride), and the output has (h - 1) * stride + kh rows.",
        ),
        "kernel flipped": (
            lambda X, K, stride=1: transposed(X, f64(K).flip(0, 1), stride),
            "Your output spreads the kernel flipped: X[i, j] * K adds K as it is, K[0, 0] "
            "at (i * stride, j * stride).",
        ),
        "one row and column short": (
            lambda X, K, stride=1: short(transposed(X, K, stride)),
            "Your output is one row and one column short: it has (h - 1) * stride + kh rows "
            "and (w - 1) * stride + kw columns.",
        ),
        "kernel transposed": (
            lambda X, K, stride=1: transposed(X, f64(K).T, stride),
            "Your output spreads K transposed: K[a, b] lands a rows below and b columns "
            "right of (i * stride, j * stride).",
        ),
    }


# ---- from dense layers to convolutions -----------------------------------------------------


def full_conv1d(x: torch.Tensor, k: torch.Tensor, flip: bool = True) -> torch.Tensor:
    """Full 1-D convolution (or cross-correlation with ``flip=False``): length n + m - 1."""
    k = f64(k).flip(0) if flip else f64(k)
    return F.conv1d(f64(x)[None, None], k[None, None], padding=k.shape[0] - 1)[0, 0]


def conv1d_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``conv1d_true(x, k)``."""
    return {
        "no flip": (
            lambda x, k: full_conv1d(x, k, flip=False),
            "Your output is a cross-correlation: a convolution flips the kernel first "
            "(k.flip(0)), so y[t] = sum over s of x[s] * k[t - s].",
        ),
        "valid part only": (
            lambda x, k: full_conv1d(x, k)[k.shape[0] - 1 : x.shape[0]],
            "Your output keeps only the positions where k fits inside x: the full convolution "
            "has n + m - 1 values (pad m - 1 zeros on both sides).",
        ),
        "same length as the signal": (
            lambda x, k: full_conv1d(x, k)[(k.shape[0] - 1) // 2 :][: x.shape[0]],
            "Your output has the signal's length (numpy's mode 'same'): the full convolution "
            "has n + m - 1 values.",
        ),
        "padded on one side only": (
            lambda x, k: full_conv1d(x, k)[: x.shape[0]],
            "Your output pads m - 1 zeros on the left only: pad both sides, so the output "
            "has n + m - 1 values.",
        ),
    }


def conv_matrix_of(K: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The (oh * ow, h * w) matrix of cross-correlation with K on (h, w) inputs."""
    basis = torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)
    return F.conv2d(basis, f64(K)[None, None]).reshape(h * w, -1).T


def conv_matrix_mistakes() -> dict[str, Mistake]:
    """The mistakes of ``conv_matrix(K, h, w)``."""

    def short_rows(K: torch.Tensor, h: int, w: int) -> torch.Tensor:
        kh, kw = K.shape
        M = conv_matrix_of(K, h, w).reshape(h - kh + 1, w - kw + 1, h * w)
        return short(M.permute(2, 0, 1)).permute(1, 2, 0).reshape(-1, h * w)

    return {
        "transposed": (
            lambda K, h, w: conv_matrix_of(K, h, w).T,
            "Your matrix is transposed: it has one row per output position and one column "
            "per input pixel, (oh * ow, h * w).",
        ),
        "kernel flipped": (
            lambda K, h, w: conv_matrix_of(f64(K).flip(0, 1), h, w),
            "Your matrix is that of a convolution, with the kernel flipped: each row holds K "
            "as it is, K[a, b] in the column of pixel (i + a, j + b).",
        ),
        "columns in column-major order": (
            lambda K, h, w: (
                conv_matrix_of(K, h, w).reshape(-1, h, w).transpose(1, 2).reshape(-1, h * w)
            ),
            "Your columns follow the input column by column: flatten X row by row "
            "(X.reshape(-1)), so pixel (i, j) is column i * w + j.",
        ),
        "one row and column of outputs short": (
            short_rows,
            "Your matrix misses the last output row and column: there are h - kh + 1 by "
            "w - kw + 1 output positions, one matrix row each.",
        ),
    }
