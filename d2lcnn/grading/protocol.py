"""The grader's wire format: the job, the sandboxed child's messages, the worker's reply.

One submission crosses two process boundaries: the grader sends a :class:`Job`
to a worker (a JSON line on its stdin), the worker forks a sandboxed child that
writes one JSON line per :data:`Message` on a dedicated pipe, and the worker
answers with a :class:`Reply` (a JSON line on its stdout). Every type here has
its encoder and its decoder side by side. Decoders are strict: exact keys,
exact types (``True`` is not an int), bounded sizes; anything else raises
:class:`ProtocolError`, because the child's side of the pipe is written by
student code.

Returned values travel as :data:`Value`: tensors and arrays as their shape and
raw float64 bytes, converted in the child by functions captured when this
module is imported (in the worker, before any student code runs).
"""

import base64
import binascii
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .compare import Received

MAX_ELEMENTS = 2**24  # a returned tensor larger than this is not an answer to these exercises
MAX_DIMS = 16
MAX_TUPLE = 64
TYPE_CHARS = 80  # a type's name, as received
MESSAGE_CHARS = 300  # an exception's message
TEXT_CHARS = 400  # other short texts (a forbidden name, a file name)
MAX_FRAMES = 3


class ProtocolError(ValueError):
    """A line that is not a message of this protocol (malformed, oversized, wrong types)."""


# ---- strict field access ----------------------------------------------------------


def _fields(data: Any, kind: str, keys: set[str]) -> dict:
    """``data`` as a dict of exactly ``keys`` plus ``"kind": kind``."""
    if not isinstance(data, dict) or data.get("kind") != kind or set(data) != keys | {"kind"}:
        raise ProtocolError(f"not a {kind!r} message with fields {sorted(keys)}")
    return data


def _int(value: Any, low: int = 0, high: int = 2**62) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ProtocolError(f"expected an integer in [{low}, {high}]")
    return value


def _float(value: Any) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise ProtocolError("expected a finite number")
    return float(value)


def _str(value: Any, limit: int = TEXT_CHARS) -> str:
    if type(value) is not str or len(value) > limit:
        raise ProtocolError(f"expected a string of at most {limit} characters")
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise ProtocolError("expected true or false")
    return value


def _list(value: Any, limit: int) -> list:
    if type(value) is not list or len(value) > limit:
        raise ProtocolError(f"expected a list of at most {limit} items")
    return value


def _loads(line: bytes | str) -> Any:
    try:
        return json.loads(line, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"not JSON ({type(e).__name__})") from None


def _reject_constant(name: str) -> None:
    raise ProtocolError(f"{name} is not a number of this protocol")


def _dumps(data: Any) -> bytes:
    return (json.dumps(data, allow_nan=False, separators=(",", ":")) + "\n").encode()


# ---- the job -------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Resource limits of one job's child: CPU seconds, address space on top of what the
    worker maps, file size, processes."""

    cpu_s: int
    extra_as_bytes: int
    fsize_bytes: int
    nproc: int


@dataclass(frozen=True)
class Source:
    """One cell (or a whole .py file) of the submission and which top-level statements run."""

    filename: str  # "cell 5" or "alice.py", as tracebacks name it
    text: str
    keep: tuple[int, ...]  # indices into ast.parse(text).body


Input = Any  # a case's argument: a tensor, a number, a string, None, or a tuple/list of them


@dataclass(frozen=True)
class ProbeInput:
    """What a module case measures on the module ``fn(*args, **kwargs)`` builds (modules.py)."""

    inputs: tuple  # the seeded input tensors
    modes: tuple[str, ...]  # "train" and/or "eval"
    steps: bool  # the normalization-layer probe


@dataclass(frozen=True)
class CaseInput:
    """One call the child makes: ``fn(*args, **kwargs)`` with autograd on or off; for a module
    exercise, ``probe`` says what to measure on the module."""

    args: tuple[Input, ...]
    kwargs: dict[str, Input]
    grad_enabled: bool = True
    probe: ProbeInput | None = None


def input_to_json(value: Input, depth: int = 0) -> Any:
    """A case's argument as JSON: tensors keep their dtype (raw bytes), tuples stay tuples."""
    if depth > MAX_DIMS:
        raise ProtocolError("arguments nested too deep")
    if isinstance(value, torch.Tensor):
        arr = value.detach().cpu().contiguous().numpy()
        data = base64.b64encode(arr.tobytes()).decode("ascii")
        return {"tensor": [str(arr.dtype), list(arr.shape), data]}
    if isinstance(value, (tuple, list)):
        key = "tuple" if isinstance(value, tuple) else "list"
        return {key: [input_to_json(v, depth + 1) for v in value]}
    if value is None or type(value) in (bool, int, float, str):
        return {"value": value}
    raise ProtocolError(f"a case argument of type {type(value).__name__} cannot be sent")


_INPUT_DTYPES = {
    "float32",
    "float64",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
}


def input_from_json(data: Any, depth: int = 0) -> Input:
    """The argument :func:`input_to_json` encoded; tensors come back as torch tensors."""
    if not isinstance(data, dict) or len(data) != 1 or depth > MAX_DIMS:
        raise ProtocolError("not a case argument")
    ((key, item),) = data.items()
    if key == "tensor":
        dtype, shape, raw = _list(item, 3)
        if dtype not in _INPUT_DTYPES:
            raise ProtocolError(f"unexpected tensor dtype {dtype!r}")
        dims = tuple(_int(n, 0, MAX_ELEMENTS) for n in _list(shape, MAX_DIMS))
        arr = np.frombuffer(base64.b64decode(_str(raw, 12 * MAX_ELEMENTS)), dtype=dtype)
        return torch.from_numpy(arr.copy().reshape(dims))
    if key in ("tuple", "list"):
        items = [input_from_json(v, depth + 1) for v in _list(item, 10_000)]
        return tuple(items) if key == "tuple" else items
    if key == "value" and (item is None or type(item) in (bool, int, float, str)):
        return item
    raise ProtocolError("not a case argument")


def _case_to_json(case: CaseInput) -> list:
    kwargs = {k: input_to_json(v) for k, v in case.kwargs.items()}
    data = [input_to_json(tuple(case.args)), kwargs, case.grad_enabled]
    if case.probe is not None:
        p = case.probe
        data.append([input_to_json(tuple(p.inputs)), list(p.modes), p.steps])
    return data


def _probe_from_json(data: Any) -> ProbeInput:
    inputs, modes, steps = _list(data, 3)
    modes = tuple(_str(m, 8) for m in _list(modes, 2))
    if not set(modes) <= {"train", "eval"}:
        raise ProtocolError(f"unknown modes {modes!r}")
    return ProbeInput(input_from_json(inputs), modes, _bool(steps))


def _case_from_json(data: Any) -> CaseInput:
    items = _list(data, 4)
    if len(items) < 3:
        raise ProtocolError("a case needs args, kwargs and grad_enabled")
    args, kwargs, grad = items[:3]
    if not isinstance(kwargs, dict):
        raise ProtocolError("keyword arguments are not an object")
    return CaseInput(
        input_from_json(args),
        {_str(k, 80): input_from_json(v) for k, v in kwargs.items()},
        _bool(grad),
        _probe_from_json(items[3]) if len(items) == 4 else None,
    )


@dataclass(frozen=True)
class Job:
    """One exercise of one submission on one set of cases, for a worker.

    The public cases and the hidden ones go to two separate jobs (two
    children): only the public child's output is kept, and neither child ever
    sees the secret the hidden cases were drawn from, only their inputs.

    Attributes:
        id: the grader's number for it; the reply carries it back.
        exercise: the registered exercise's name.
        cases: the calls to make, in order.
        keep_output: whether what the child prints is kept (the public cases only).
        timeout: wall-clock seconds the child may take.
        sources: the submission's definitions.
        limits: the child's resource limits.
        hidden: folders the child must not see.
    """

    id: int
    exercise: str
    cases: tuple[CaseInput, ...]
    keep_output: bool
    timeout: float
    sources: tuple[Source, ...]
    limits: Limits
    hidden: tuple[str, ...]


def encode_job(job: Job) -> bytes:
    """``job`` as one JSON line."""
    limits = job.limits
    return _dumps(
        {
            "kind": "job",
            "id": job.id,
            "exercise": job.exercise,
            "cases": [_case_to_json(c) for c in job.cases],
            "keep_output": job.keep_output,
            "timeout": job.timeout,
            "sources": [[s.filename, s.text, list(s.keep)] for s in job.sources],
            "limits": [limits.cpu_s, limits.extra_as_bytes, limits.fsize_bytes, limits.nproc],
            "hidden": list(job.hidden),
        }
    )


def decode_job(line: bytes | str) -> Job:
    """The :class:`Job` of one line written by :func:`encode_job`."""
    keys = {"id", "exercise", "cases", "keep_output", "timeout", "sources", "limits", "hidden"}
    d = _fields(_loads(line), "job", keys)
    sources = []
    for item in _list(d["sources"], 10_000):
        filename, text, keep = _list(item, 3)
        sources.append(
            Source(_str(filename), _str(text, 2**26), tuple(_int(i) for i in _list(keep, 10**6)))
        )
    cpu, extra, fsize, nproc = (_int(v) for v in _list(d["limits"], 4))
    return Job(
        id=_int(d["id"]),
        exercise=_str(d["exercise"]),
        cases=tuple(_case_from_json(c) for c in _list(d["cases"], 10_000)),
        keep_output=_bool(d["keep_output"]),
        timeout=_float(d["timeout"]),
        sources=tuple(sources),
        limits=Limits(cpu, extra, fsize, nproc),
        hidden=tuple(_str(h, 4096) for h in _list(d["hidden"], 10_000)),
    )


# ---- returned values -------------------------------------------------------------------


@dataclass(frozen=True)
class TensorValue:
    """A returned tensor or array: the dtype it had, its shape, its values as float64."""

    dtype: str
    shape: tuple[int, ...]
    data: bytes  # little-endian float64, row-major


@dataclass(frozen=True)
class NumberValue:
    """A returned Python or numpy number."""

    value: int | float


@dataclass(frozen=True)
class TupleValue:
    items: tuple["Value", ...]


@dataclass(frozen=True)
class OtherValue:
    """Anything else, by a description of its type (the grader never sees the object)."""

    type: str


Value = TensorValue | NumberValue | TupleValue | OtherValue

# Captured now (in the worker, before any student code can patch them) for encode_value.
_isinstance, _issubclass, _type, _str_of, _int_of = isinstance, issubclass, type, str, int
_BaseException, _tuple_iter = BaseException, tuple.__iter__
_TensorBase, _ndarray, _generic = torch._C.TensorBase, np.ndarray, np.generic
_detach, _to, _contig, _numpy, _numel = (
    torch.Tensor.detach,
    torch.Tensor.to,
    torch.Tensor.contiguous,
    torch.Tensor.numpy,
    torch.Tensor.numel,
)
_tobytes, _astype, _np_array = np.ndarray.tobytes, np.ndarray.astype, np.array
_DisableTorchFunction, _float64 = torch._C.DisableTorchFunction, torch.float64


def encode_value(value: Any) -> Value:
    """What a student's function returned, as plain data; runs in the sandboxed child.

    Uses only functions captured at import, and never trusts what the object
    says about itself: a tensor subclass is read through torch's base class.
    """
    if _isinstance(value, tuple):
        return TupleValue(tuple(encode_value(v) for v in _tuple_iter(value))[:MAX_TUPLE])
    if _type(value) in (int, bool, float):
        if _type(value) is float or -(2**63) <= value < 2**64:
            return NumberValue(value if _type(value) is float else _int_of(value))
        return OtherValue("int too large for a tensor")
    if _isinstance(value, _generic) and value.dtype.kind in "biuf":
        return NumberValue(value.item())
    try:
        if _type(value) is list:  # nested lists of numbers, as the comparison has always accepted
            value = _np_array(value, dtype=np.float64)
        if _issubclass(_type(value), _TensorBase):
            with _DisableTorchFunction():
                t = _detach(value)
                if t.is_complex() or _numel(t) > MAX_ELEMENTS:
                    return OtherValue(f"tensor of {t.dtype} with {_numel(t)} elements")
                dtype, shape = _str_of(t.dtype), tuple(_int_of(d) for d in t.shape)
                arr = _numpy(_contig(_to(t, device="cpu", dtype=_float64)))
        elif (
            _issubclass(_type(value), _ndarray)
            and value.dtype.kind in "biuf"
            and value.size <= MAX_ELEMENTS
        ):
            dtype, shape = f"numpy.{value.dtype}", tuple(_int_of(d) for d in value.shape)
            arr = _astype(value, np.float64)
        else:
            return OtherValue(_type(value).__name__[:TYPE_CHARS])
        return TensorValue(dtype, shape, _tobytes(arr))
    except _BaseException as e:
        return OtherValue(f"{_type(value).__name__[:TYPE_CHARS]} (unreadable: {_type(e).__name__})")


class ReceivedTensor(np.ndarray):
    """A received tensor in the grader: its float64 values, and the dtype the student's had."""

    dtype_name: str

    def __new__(cls, array: np.ndarray, dtype_name: str) -> "ReceivedTensor":
        obj = np.asarray(array).view(cls)
        obj.dtype_name = dtype_name
        return obj

    def __array_finalize__(self, obj: object) -> None:
        self.dtype_name = getattr(obj, "dtype_name", "?")


def decode_value(value: Value) -> "ReceivedTensor | tuple | Received":
    """What :func:`encode_value` sent, as the comparison takes it (see compare.py)."""
    if isinstance(value, TupleValue):
        return tuple(decode_value(v) for v in value.items)
    if isinstance(value, NumberValue):
        return ReceivedTensor(np.array(float(value.value)), type(value.value).__name__)
    if isinstance(value, TensorValue):
        data = np.frombuffer(value.data, dtype="<f8").reshape(value.shape)
        return ReceivedTensor(data, value.dtype[:40])
    return Received(value.type[:120])


def value_to_json(value: Value) -> dict:
    if isinstance(value, TensorValue):
        data = base64.b64encode(value.data).decode("ascii")
        return {"kind": "tensor", "dtype": value.dtype, "shape": list(value.shape), "data": data}
    if isinstance(value, NumberValue):
        number = value.value
        if type(number) is float and not math.isfinite(number):
            return {"kind": "number", "value": str(number)}  # nan, inf: JSON has none
        return {"kind": "number", "value": number}
    if isinstance(value, TupleValue):
        return {"kind": "tuple", "items": [value_to_json(v) for v in value.items]}
    return {"kind": "other", "type": value.type}


def value_from_json(data: Any, depth: int = 0) -> Value:
    """The :data:`Value` of :func:`value_to_json`'s output; strict."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "tensor":
        d = _fields(data, "tensor", {"dtype", "shape", "data"})
        shape = tuple(_int(n, 0, MAX_ELEMENTS) for n in _list(d["shape"], MAX_DIMS))
        try:
            raw = base64.b64decode(_str(d["data"], 12 * MAX_ELEMENTS), validate=True)
        except binascii.Error:
            raise ProtocolError("tensor data is not base64") from None
        if math.prod(shape) * 8 != len(raw):
            raise ProtocolError("tensor data does not match its shape")
        return TensorValue(_str(d["dtype"], TYPE_CHARS), shape, raw)
    if kind == "number":
        number = _fields(data, "number", {"value"})["value"]
        if type(number) is str and number in ("nan", "inf", "-inf"):
            return NumberValue(float(number))
        if type(number) is int:
            return NumberValue(_int(number, -(2**63), 2**64))
        return NumberValue(_float(number))
    if kind == "tuple":
        if depth >= MAX_DIMS:
            raise ProtocolError("tuples nested too deep")
        items = _list(_fields(data, "tuple", {"items"})["items"], MAX_TUPLE)
        return TupleValue(tuple(value_from_json(v, depth + 1) for v in items))
    if kind == "other":
        return OtherValue(_str(_fields(data, "other", {"type"})["type"], 2 * TYPE_CHARS))
    raise ProtocolError("not a value")


# ---- the child's messages -----------------------------------------------------------


@dataclass(frozen=True)
class ErrorInfo:
    """An exception raised by student code: its type's name, its message, the student's lines."""

    type: str
    message: str
    frames: tuple[tuple[str, int], ...]  # (filename, line) of the student's code, innermost last


@dataclass(frozen=True)
class Forbidden:
    """A tripwire fired: the code called ``what``, which the exercise forbids."""

    what: str


@dataclass(frozen=True)
class LoadError:
    """A definition raised while the submission was loaded."""

    error: ErrorInfo


@dataclass(frozen=True)
class Missing:
    """The submission does not define the exercise's function."""


@dataclass(frozen=True)
class NotCallable:
    """The exercise's name is bound to something that is not a function."""

    type: str


@dataclass(frozen=True)
class CaseValue:
    case: int
    value: Value


@dataclass(frozen=True)
class CaseError:
    case: int
    error: ErrorInfo


Message = Forbidden | LoadError | Missing | NotCallable | CaseValue | CaseError


def _error_to_json(e: ErrorInfo) -> dict:
    return {"type": e.type, "message": e.message, "frames": [list(f) for f in e.frames]}


def _error_from_json(data: Any) -> ErrorInfo:
    if not isinstance(data, dict) or set(data) != {"type", "message", "frames"}:
        raise ProtocolError("not an exception")
    frames = []
    for frame in _list(data["frames"], MAX_FRAMES):
        filename, line = _list(frame, 2)
        frames.append((_str(filename), _int(line, 0, 10**9)))
    return ErrorInfo(
        _str(data["type"], TYPE_CHARS), _str(data["message"], MESSAGE_CHARS), tuple(frames)
    )


def message_to_json(message: Message) -> dict:
    if isinstance(message, Forbidden):
        return {"kind": "forbidden", "what": message.what}
    if isinstance(message, LoadError):
        return {"kind": "load_error", "error": _error_to_json(message.error)}
    if isinstance(message, Missing):
        return {"kind": "missing"}
    if isinstance(message, NotCallable):
        return {"kind": "not_callable", "type": message.type}
    if isinstance(message, CaseValue):
        return {"kind": "case_value", "case": message.case, "value": value_to_json(message.value)}
    return {"kind": "case_error", "case": message.case, "error": _error_to_json(message.error)}


def encode_message(message: Message) -> bytes:
    """``message`` as one JSON line, as the child writes it on the result pipe."""
    return _dumps(message_to_json(message))


def message_from_json(data: Any) -> Message:
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "forbidden":
        return Forbidden(_str(_fields(data, kind, {"what"})["what"]))
    if kind == "load_error":
        return LoadError(_error_from_json(_fields(data, kind, {"error"})["error"]))
    if kind == "missing":
        _fields(data, kind, set())
        return Missing()
    if kind == "not_callable":
        return NotCallable(_str(_fields(data, kind, {"type"})["type"], TYPE_CHARS))
    if kind == "case_value":
        d = _fields(data, kind, {"case", "value"})
        return CaseValue(_int(d["case"], 0, 10**6), value_from_json(d["value"]))
    if kind == "case_error":
        d = _fields(data, kind, {"case", "error"})
        return CaseError(_int(d["case"], 0, 10**6), _error_from_json(d["error"]))
    raise ProtocolError("not a message of the sandboxed child")


def decode_message(line: bytes | str) -> Message:
    """The :data:`Message` of one line of the result pipe; strict."""
    return message_from_json(_loads(line))


MAX_LOAD_ERRORS = 1000  # one per top-level statement that raised
MAX_FORBIDDEN = 16  # tripwires report each call; the first one decides


class MessageSequence:
    """The order the child's messages must come in, checked one line at a time as they arrive.

    Load errors first (any number up to :data:`MAX_LOAD_ERRORS`), then either one
    ``missing``/``not_callable`` or one case message per case, in order (case 0,
    1, ...), at most ``n_cases``; a ``forbidden`` report may come at any point
    (at most :data:`MAX_FORBIDDEN`). Anything else is a :class:`ProtocolError`:
    the child's side of the pipe is written by student code, so a forged,
    repeated or out-of-order line ends the job instead of being believed.
    """

    def __init__(self, n_cases: int) -> None:
        self.n_cases, self.next_case, self.final = n_cases, 0, False
        self.load_errors = self.forbidden = 0
        self.messages: list[Message] = []

    def feed(self, line: bytes) -> Message:
        """Decode and check one line; keep its message."""
        message = decode_message(line)
        if isinstance(message, Forbidden):
            self.forbidden += 1
            if self.forbidden > MAX_FORBIDDEN:
                raise ProtocolError(f"more than {MAX_FORBIDDEN} forbidden-call reports")
        elif self.final:
            raise ProtocolError("a message after the last one")
        elif isinstance(message, LoadError):
            self.load_errors += 1
            if self.next_case or self.load_errors > MAX_LOAD_ERRORS:
                raise ProtocolError("a load error out of place")
        elif isinstance(message, (Missing, NotCallable)):
            if self.next_case:
                raise ProtocolError("a missing function reported after its cases")
            self.final = True
        else:
            if message.case != self.next_case or message.case >= self.n_cases:
                raise ProtocolError(f"case {message.case} reported out of order")
            self.next_case += 1
            self.final = self.next_case == self.n_cases
        self.messages.append(message)
        return message


# ---- the worker's reply ---------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What happened to one job's child, as the worker saw it.

    Attributes:
        id: the job's id.
        messages: the child's messages, in the order they came.
        results_truncated: the child wrote more results than the worker reads.
        exit_code: the child's exit status, None when a signal ended it.
        signal: the signal's name (``"SIGKILL"``), when one ended it.
        timed_out: the worker killed it at the job's timeout.
        output: what it printed (stdout and stderr), the first bytes only.
        output_bytes: how much it printed in all.
        worker_error: set when the worker itself failed on this job (a grader bug).
        protocol_error: set when the child wrote a line that broke :class:`MessageSequence`
            (the worker then killed it); says what was wrong, in the grader's words.
    """

    id: int
    messages: tuple[Message, ...] = ()
    results_truncated: bool = False
    exit_code: int | None = None
    signal: str | None = None
    timed_out: bool = False
    output: str = ""
    output_bytes: int = 0
    worker_error: str | None = None
    protocol_error: str | None = None


def encode_reply(reply: Reply) -> bytes:
    """``reply`` as one JSON line."""
    return _dumps(
        {
            "kind": "reply",
            "id": reply.id,
            "messages": [message_to_json(m) for m in reply.messages],
            "results_truncated": reply.results_truncated,
            "exit_code": reply.exit_code,
            "signal": reply.signal,
            "timed_out": reply.timed_out,
            "output": reply.output,
            "output_bytes": reply.output_bytes,
            "worker_error": reply.worker_error,
            "protocol_error": reply.protocol_error,
        }
    )


def decode_reply(line: bytes | str) -> Reply:
    """The :class:`Reply` of one line written by :func:`encode_reply`; strict."""
    d = _fields(
        _loads(line),
        "reply",
        {
            "id",
            "messages",
            "results_truncated",
            "exit_code",
            "signal",
            "timed_out",
            "output",
            "output_bytes",
            "worker_error",
            "protocol_error",
        },
    )
    return Reply(
        id=_int(d["id"]),
        messages=tuple(message_from_json(m) for m in _list(d["messages"], 10**6)),
        results_truncated=_bool(d["results_truncated"]),
        exit_code=None if d["exit_code"] is None else _int(d["exit_code"], -(2**31), 2**31),
        signal=None if d["signal"] is None else _str(d["signal"], 20),
        timed_out=_bool(d["timed_out"]),
        output=_str(d["output"], 2**20),
        output_bytes=_int(d["output_bytes"]),
        worker_error=None if d["worker_error"] is None else _str(d["worker_error"], 2000),
        protocol_error=None if d["protocol_error"] is None else _str(d["protocol_error"], 200),
    )
