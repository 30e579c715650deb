"""Exercises whose answer is an ``nn.Module``: build it, fill its real state, probe it.

A :class:`ModuleCase` builds the student's module with the case's arguments and
returns plain tensors only: the shapes of its parameters, its outputs on the
case's seeded inputs, the gradients of a backward pass. The same probe runs on
the reference in the grader's process, and the two tuples are compared there.

What the module computes is judged, not how it is written: before any output
is taken, every parameter and buffer is overwritten with values that depend
only on its shape (:func:`fill_value`), so attribute names, registration order
and ``nn.Sequential`` nesting do not matter. The state is found by walking the
module's real ``_parameters``/``_buffers``/``_modules`` dictionaries (as
``state_dict`` does), never through methods the student's class could
override: a ``parameters()`` that lies changes nothing.
"""

import math
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .compare import compare, to_array
from .protocol import CaseInput, ProbeInput
from .registry import Case, Recorded

# Captured when the grader's modules are imported, before any student code runs.
_Module, _Tensor = nn.Module, torch.Tensor
_Uninitialized = nn.parameter.UninitializedParameter
_state = object.__getattribute__
_set = object.__setattr__
_isinstance, _id, _tuple = isinstance, id, tuple
_copy, _no_grad, _fork_rng = torch.Tensor.copy_, torch.no_grad, torch.random.fork_rng
# The grader probes references in one thread per worker, and torch's default RNG is global:
# one probe at a time, or another thread's layer initializations move this one's dropout masks
# (a false "wrong").
_PROBE_LOCK = threading.Lock()

MAX_DIMS = 6  # parameters with more dimensions are not part of any exercise
SGD_LR = 0.5  # the step the "steps" probe takes on every parameter between batches


def fill_value(shape: tuple, kind: str) -> torch.Tensor:
    """The values a parameter (``kind="param"``) or buffer (``"buffer"``) of ``shape`` gets.

    Equal shapes get equal values, whatever the tensor is called. Weights are
    uniform with variance ``2 / fan_in``, so that activations stay of order one
    through the layers (and sigmoids are not flat); vectors (biases, scales,
    shifts) lie in ``[-0.5, 0.5]``; buffers (running statistics) in
    ``[0.5, 1.5]``, valid as a variance.

    Example::

        >>> bool((fill_value((6, 1, 5, 5), "param") == fill_value((6, 1, 5, 5), "param")).all())
        True
    """
    gen = torch.Generator().manual_seed(zlib.crc32(f"{kind}{tuple(shape)}".encode()))
    u = torch.rand(tuple(shape), generator=gen)
    if kind == "buffer":
        return 0.5 + u
    if len(shape) < 2:  # biases, scales and shifts
        return u - 0.5
    return (2 * u - 1) * math.sqrt(6 / math.prod(shape[1:]))  # variance 2 / fan_in


def real_state(module: nn.Module) -> tuple[list, list, list]:
    """``(submodules, parameters, buffers)`` as torch registered them, each once.

    Read from the instances' ``__dict__`` (``_modules``, ``_parameters``,
    ``_buffers``), the way ``state_dict`` finds them, so overriding
    ``parameters()``, ``children()`` or ``__getattr__`` hides nothing.
    """
    modules: list[nn.Module] = []
    params: list[torch.Tensor] = []
    buffers: list[torch.Tensor] = []
    seen: set[int] = set()
    todo: list = [module]
    while todo:
        m = todo.pop()
        if _id(m) in seen or not _isinstance(m, _Module):
            continue
        seen.add(_id(m))
        modules.append(m)
        d = _state(m, "__dict__")
        for store, out in (("_parameters", params), ("_buffers", buffers)):
            for t in dict.values(d.get(store, {})):
                if t is not None and _id(t) not in seen:
                    seen.add(_id(t))
                    out.append(t)
        todo.extend(reversed(list(dict.values(d.get("_modules", {})))))
    return modules, params, buffers


def shape_table(params: list, numel: bool = False) -> torch.Tensor:
    """Parameter shapes as a sorted ``(n, 1 + MAX_DIMS)`` tensor: ndim, then the sizes (-1 pads).

    With ``numel``, one row per parameter holding its element count (for
    exercises that leave the shapes free, like the book's ``(1, C, 1, 1)``).
    """
    rows = []
    for p in params:
        dims = [p.numel()] if numel else list(p.shape)[:MAX_DIMS]
        rows.append([len(dims)] + dims + [-1] * (MAX_DIMS - len(dims)))
    rows.sort()
    return torch.tensor(rows, dtype=torch.float64).reshape(len(rows), 1 + MAX_DIMS)


def shapes_of(table: np.ndarray) -> list[tuple]:
    """The shapes a :func:`shape_table` encodes, e.g. ``[(6,), (6, 1, 5, 5)]``."""
    return [tuple(int(d) for d in row[1 : 1 + int(row[0])]) for row in np.asarray(table)]


def _set_mode(modules: list, training: bool) -> None:
    for m in modules:
        _set(m, "training", training)  # what .train()/.eval() set, without calling them


def _fill(params: list, buffers: list) -> None:
    with _no_grad():
        for p in params:
            _copy(p, fill_value(tuple(p.shape), "param"))
        for b in buffers:
            if b.is_floating_point():
                _copy(b, fill_value(tuple(b.shape), "buffer"))
            else:
                _copy(b, torch.zeros_like(b))  # num_batches_tracked


def _grad_table(params: list, numel: bool = False) -> torch.Tensor:
    """Rows ``(shape row, gradient norm)`` sorted; a norm of -1 where no gradient arrived."""
    rows = []
    for p in params:
        g = p.grad
        norm = -1.0 if g is None else float(torch.linalg.vector_norm(g.detach().double()))
        dims = [p.numel()] if numel else list(p.shape)[:MAX_DIMS]
        rows.append([len(dims)] + dims + [-1] * (MAX_DIMS - len(dims)) + [norm])
    rows.sort()
    return torch.tensor(rows, dtype=torch.float64).reshape(len(rows), 2 + MAX_DIMS)


def _weights(shape: tuple, seed: int) -> torch.Tensor:
    """Fixed random weights for the loss ``sum(Y * R)``, so every output value matters."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _forward(module: nn.Module, X: torch.Tensor) -> torch.Tensor:
    with _fork_rng(devices=[]):
        torch.manual_seed(0)  # dropout draws the same masks for equivalent modules
        Y = module(X)
    if not _isinstance(Y, _Tensor):
        raise TypeError(f"the module returned a {type(Y).__name__}, not a tensor")
    return Y


def _backward(outputs: list, params: list) -> None:
    loss = sum((Y * _weights(tuple(Y.shape), i)).sum() for i, Y in enumerate(outputs))
    for p in params:
        p.grad = None
    if _isinstance(loss, _Tensor) and loss.requires_grad:
        loss.backward()


def probe_filled(module: nn.Module, case: "ModuleCase") -> tuple:
    """``(shapes, train outputs..., eval outputs..., input grads..., grad table)`` of ``module``.

    Its state is filled by :func:`fill_value`; the training-mode outputs of all
    inputs feed one backward pass; the eval-mode outputs follow (they see the
    running statistics those training passes updated).
    """
    if not _isinstance(module, _Module):
        raise TypeError(f"expected an nn.Module, got {type(module).__name__}")
    modules, params, buffers = real_state(module)
    if any(_isinstance(p, _Uninitialized) for p in params):  # lazy layers get shapes on a call
        with _no_grad():
            _forward(module, case.inputs[0].clone())
        modules, params, buffers = real_state(module)
    _fill(params, buffers)
    out: list = [shape_table(params)]
    trained, inputs = [], []
    if "train" in case.modes:
        _set_mode(modules, True)
        for X in case.inputs:
            X = X.clone().requires_grad_(True)
            inputs.append(X)
            trained.append(_forward(module, X))
        _backward(trained, params)
    out += [Y.detach() for Y in trained]
    if "eval" in case.modes:
        _set_mode(modules, False)
        with _no_grad():
            out += [_forward(module, X.clone()) for X in case.inputs]
    out += [torch.zeros(0) if X.grad is None else X.grad for X in inputs]
    out.append(_grad_table(params))
    return _tuple(out)


def probe_steps(module: nn.Module, case: "ModuleCase") -> tuple:
    """A normalization layer over several batches, from its own initial state.

    Training mode with autograd, each batch followed by an SGD step on every
    parameter; one training batch under ``torch.no_grad()``; then ``.eval()``
    with autograd on (its input gradient too) and under ``torch.no_grad()``.
    The last input is the eval batch. Returns ``(numels, outputs..., input
    grads..., grad table)``.
    """
    if not _isinstance(module, _Module):
        raise TypeError(f"expected an nn.Module, got {type(module).__name__}")
    modules, params, _ = real_state(module)
    out: list = [shape_table(params, numel=True)]
    grads = []
    *train, last = case.inputs
    _set_mode(modules, True)
    for X in train:
        X = X.clone().requires_grad_(True)
        Y = _forward(module, X)
        _backward([Y], params)
        out.append(Y.detach())
        grads.append(X.grad if X.grad is not None else torch.zeros(0))
        table = _grad_table(params, numel=True)
        with _no_grad():
            for p in params:
                if p.grad is not None:
                    p -= SGD_LR * p.grad
    with _no_grad():
        out.append(_forward(module, train[-1].clone()))  # training mode without autograd
    _set_mode(modules, False)
    X = last.clone().requires_grad_(True)
    Y = _forward(module, X)
    _backward([Y], [])
    out.append(Y.detach())
    grads.append(X.grad if X.grad is not None else torch.zeros(0))
    with _no_grad():
        out.append(_forward(module, last.clone()))
    return _tuple(out + grads + [table])


@dataclass(frozen=True)
class ModuleCase(Case):
    """``fn(*args, **kwargs)`` builds a module; the case returns what :func:`probe_filled`
    (or, with ``steps=True``, :func:`probe_steps`) measures on it.

    Attributes:
        inputs: seeded input tensors, ``(batch, channels, h, w)`` or ``(batch, features)``.
        modes: ``("train",)``, ``("eval",)`` or both (layers that behave differently).
        steps: judge a normalization layer over several batches from its own
            initial state (its parameter shapes may differ: only their sizes count).
    """

    inputs: tuple = ()
    modes: tuple = ("train", "eval")
    steps: bool = False

    def call(self, fn: Callable) -> tuple:
        if isinstance(fn, Recorded):  # the student release's reference: its recorded probe
            return fn.value(self)
        with _PROBE_LOCK:
            module = Case.call(self, fn)
            return (probe_steps if self.steps else probe_filled)(module, self)

    def item_names(self) -> list[str]:
        """What each item of the probe's tuple is, for the feedback."""
        n = len(self.inputs)
        if self.steps:
            steps = [f"output in training mode, batch {i + 1}" for i in range(n - 1)]
            return (
                ["parameter sizes"]
                + steps
                + [
                    "output in training mode under torch.no_grad() (batch statistics still apply)",
                    "output after .eval() with autograd on (running statistics apply)",
                    "output after .eval() under torch.no_grad()",
                ]
                + [f"gradient of the input, training batch {i + 1}" for i in range(n - 1)]
                + ["gradient of the input after .eval()", "parameter gradients"]
            )
        names = ["parameter shapes"]
        for mode in ("train", "eval"):
            if mode in self.modes:
                where = "training mode" if mode == "train" else "after .eval()"
                names += [f"output on input {i + 1}, {where}" for i in range(n)]
        if "train" in self.modes:
            names += [f"gradient of input {i + 1}" for i in range(n)]
        return names + ["parameter gradients"]

    def compare(self, expected: object, got: object, rtol: float, atol: float) -> tuple[bool, str]:
        """``(passed, message)``: the first item that differs, said in the block's terms."""
        names = self.item_names()
        # Runs in the grader's process (or the notebook's): plain isinstance is safe here.
        if not isinstance(got, (tuple, list)) or not isinstance(expected, tuple):
            return False, "the grader could not read the module's outputs"
        if len(got) != len(expected):
            return False, "the grader could not read the module's outputs"
        for name, want, have in zip(names, expected, got):
            if name.startswith("parameter s"):
                message = _shapes_message(want, have, sizes=self.steps)
                if message:
                    return False, message
            elif name == "parameter gradients":
                message = _grads_message(want, have, rtol, atol, sizes=self.steps)
                if message:
                    return False, message
            else:
                ok, message = compare(want, have, rtol, atol)
                if not ok:
                    return False, f"{name}: {message}"
        return True, "ok"


def _multiset_diff(want: list, have: list) -> tuple[list, list]:
    missing, extra = list(want), []
    for s in have:
        if s in missing:
            missing.remove(s)
        else:
            extra.append(s)
    return missing, extra


def _shapes_message(want: object, have: object, sizes: bool = False) -> str:
    """Empty if the parameter shapes agree; else expected vs received, and what is missing/extra."""
    want_a, have_a = to_array(want), to_array(have)
    if want_a is None or have_a is None or have_a.ndim != 2 or have_a.shape[1] != 1 + MAX_DIMS:
        return "the grader could not read the module's parameter shapes"
    if want_a.shape == have_a.shape and bool(np.all(want_a == have_a)):
        return ""
    w, h = shapes_of(want_a), shapes_of(have_a)
    what = "sizes" if sizes else "shapes"

    def show(shapes: list) -> str:
        return ", ".join(str(s[0]) if sizes else str(s) for s in shapes) or "none"

    missing, extra = _multiset_diff(w, h)
    parts = [f"parameter {what} differ: expected [{show(w)}], got [{show(h)}]"]
    if missing:
        parts.append(f"missing: {show(missing)}")
    if extra:
        parts.append(f"extra: {show(extra)}")
    return "; ".join(parts) + " (a layer missing, extra or of the wrong size?)"


def _grads_message(
    want: object, have: object, rtol: float, atol: float, sizes: bool = False
) -> str:
    """Empty if every parameter got its gradient; else which did not, or which differs."""
    want_a, have_a = to_array(want), to_array(have)
    if want_a is None or have_a is None or have_a.shape != want_a.shape:
        return "the grader could not read the parameter gradients"
    dead = [r for r in have_a if r[-1] < 0]
    if dead:
        shapes = ", ".join(str(s) for s in shapes_of(np.array(dead)[:, :-1])[:4])
        return (
            f"the backward pass does not reach every parameter: {len(dead)} get no gradient "
            f"({shapes}); is a layer unused, or its output detached?"
        )
    bad = ~np.isclose(have_a[:, -1], want_a[:, -1], rtol=max(rtol, 1e-3), atol=atol)
    if bad.any():
        i = int(np.argmax(bad))
        shape = shapes_of(want_a[i : i + 1, :-1])[0]
        return (
            f"parameter gradients differ: the parameter of {'size' if sizes else 'shape'} "
            f"{shape[0] if sizes else shape} gets a gradient of norm {have_a[i, -1]:.6g}, "
            f"expected {want_a[i, -1]:.6g}"
        )
    return ""


def case_input(case: Case) -> CaseInput:
    """What the child needs of ``case``: its arguments, and for a module case what to probe."""
    probe = None
    if isinstance(case, ModuleCase):
        probe = ProbeInput(case.inputs, case.modes, case.steps)
    return CaseInput(case.args, case.kwargs, case.grad_enabled, probe)


def case_from_input(data: CaseInput) -> Case:
    """The case the child calls, rebuilt from :func:`case_input` (no label: it is not shown)."""
    if data.probe is None:
        return Case("", data.args, data.kwargs, data.grad_enabled)
    p = data.probe
    return ModuleCase(
        "", data.args, data.kwargs, data.grad_enabled, inputs=p.inputs, modes=p.modes, steps=p.steps
    )
