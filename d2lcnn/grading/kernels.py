"""Forbidden kernels blocked at torch's dispatcher, in the sandboxed child.

Every Python route to a convolution or pooling kernel (``F.conv2d``,
``torch._C._VariableFunctionsClass.conv2d``, ``torch.ops.aten.conv2d``,
``torch._C._get_operation_overload``, ``torch._C._jit_get_operation``, a
rebuilt ``OpOverloadPacket``, ``torch.mkldnn_convolution``, TorchScript,
mkldnn or quantized tensors...) ends in torch's dispatcher. The worker
registers, once and before any fork, a kernel that reports and raises for
every convolution, pooling, im2col and col2im operator of every namespace, at
each CPU dispatch key (:func:`install`); a child whose exercise does not forbid
them takes them away again (:func:`arm`). A child of a batch-norm exercise
blocks the normalization operators too (batch, layer, group, instance norm:
``torch._C._VariableFunctionsClass.batch_norm`` and the like). The
registrations are then kept alive from C only: no Python object a student
could reach (not even through ``gc.get_objects()``) can remove them.
"""

import ctypes
import re
import warnings
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

import torch

from .protocol import Forbidden, Message

# Operator names (any namespace) that compute a convolution, a pooling, or their im2col steps.
BLOCKED = re.compile(r"conv(?!ert)|pool|im2col|col2im")
# The normalizations that the batch-norm exercises teach: blocked by the children of those
# exercises only, so that no other child pays for taking them away again.
NORMS = re.compile(r"batch_norm|layer_norm|group_norm|instance_norm")
# Each CPU backend a tensor can live on, and the composite kernels other backends fall to.
KEYS = (
    "CPU",
    "MkldnnCPU",
    "QuantizedCPU",
    "SparseCPU",
    "CompositeExplicitAutograd",
    "CompositeImplicitAutograd",
)


class ForbiddenKernel(RuntimeError):
    """Raised in place of a blocked kernel."""


_libraries: list[Any] = []  # the registrations, until a child arms (then C alone holds them)
_report: list[Callable[[Message], None]] = []  # the child's result pipe, once armed


def blocked_ops(kind: re.Pattern[str] = BLOCKED) -> list[str]:
    """``["aten::conv2d", "aten::conv2d.padding", "mkldnn::_convolution_pointwise", ...]``."""
    names = torch._C._dispatch_get_all_op_names()
    return sorted(n for n in names if kind.search(n.split("::", 1)[1].split(".")[0]))


def _kernel(op: str) -> Callable[..., Any]:
    qual = "torch.ops.{}.{}".format(*op.split("::", 1)).split(".")
    what = ".".join(qual[:4])  # torch.ops.aten.conv2d, without the overload

    def blocked(*args: object, **kwargs: object) -> None:
        for send in _report:
            send(Forbidden(what))
        raise ForbiddenKernel(f"{what} may not be used in this exercise")

    return blocked


def _register(ops: list[str]) -> None:
    libraries: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "overriding a previously registered kernel"
        for op in ops:
            namespace, name = op.split("::", 1)
            if namespace not in libraries:
                libraries[namespace] = torch._C._dispatch_library(
                    "IMPL", namespace, "", "<d2lcnn grader>", 0
                )
            for key in KEYS:
                try:
                    libraries[namespace].impl(name, key, _kernel(op))
                except RuntimeError:
                    pass  # not registrable at this key: the others hold
    _libraries.extend(libraries.values())


_installed: list[str] = []  # what install() blocked, listed once in the worker
_norms: list[str] = []  # the normalization operators, listed once in the worker
_kept: dict[tuple[str, ...], list[str]] = {}  # patterns -> the blocks they keep, per worker
_added: dict[tuple[str, ...], list[str]] = {}  # patterns -> the normalizations they block


def install(exercise_patterns: tuple[tuple[str, ...], ...] = ()) -> None:
    """Block every convolution and pooling kernel; in the worker, before any fork (0.1 s).

    Also works out, for each of ``exercise_patterns``, which blocks a child keeps, so that
    :func:`arm` repeats none of that listing in every child.
    """
    _installed[:] = blocked_ops()
    conv_pool = set(_installed)
    _norms[:] = [op for op in blocked_ops(NORMS) if op not in conv_pool]
    for patterns in exercise_patterns:
        kept(patterns)
    _register(_installed)


def kept(patterns: tuple[str, ...]) -> list[str]:
    """The blocked operators that ``patterns`` forbid (all of :func:`install`'s, for conv/pool
    exercises); worked out once per worker for each set of patterns."""
    if patterns not in _kept:
        _kept[patterns] = [op for op in _installed if covered(op, patterns)]
        _added[patterns] = [op for op in _norms if covered(op, patterns)]
    return _kept[patterns]


def covered(op: str, patterns: tuple[str, ...]) -> bool:
    """Whether an exercise's patterns (``torch.ops.aten.conv*``...) forbid ``op``, whatever its
    namespace (``mkldnn::_convolution_pointwise`` counts as ``torch.ops.aten._convolution_pointwise``)."""
    name = op.split("::", 1)[1].split(".")[0]
    return any(fnmatchcase(f"torch.ops.aten.{name}", p) for p in patterns)


def arm(patterns: tuple[str, ...], send: Callable[[Message], None]) -> None:
    """In the child, before student code: keep the blocks ``patterns`` forbid, drop the others,
    report each blocked call on ``send``, and leave the registrations reachable from C only."""
    keep = kept(patterns)
    if len(keep) < len(_installed):  # this exercise allows some of them (batch norm, NiN...)
        for library in _libraries:
            library.reset()
        _libraries.clear()
        _register(keep)
    _register(_added[patterns])  # the batch-norm exercises: every route to torch's own
    _report.append(send)
    for library in _libraries:  # one reference each that no Python object holds
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(library))
    _libraries.clear()
