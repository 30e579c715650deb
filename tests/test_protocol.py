"""The grader's wire format (d2lcnn/grading/protocol.py): round trips and strict decoding."""

import json

import numpy as np
import pytest
import torch

from d2lcnn.grading import protocol as p
from d2lcnn.grading.compare import Received

JOB = p.Job(
    id=7,
    exercise="corr2d",
    cases=(
        p.CaseInput((torch.arange(6.0).reshape(2, 3), torch.ones(1, 1, dtype=torch.int64)), {}),
        p.CaseInput((torch.zeros(2, 2), (2, 2)), {"mode": "avg", "eps": 1e-5}, False),
    ),
    keep_output=False,
    timeout=2.5,
    sources=(p.Source("cell 3", "def corr2d(X, K):\n    return X\n", (0,)),),
    limits=p.Limits(3, 2**31, 2**24, 64),
    hidden=("/grades", "/submissions"),
)
ERROR = p.ErrorInfo("IndexError", "index 3 is out of bounds", (("cell 3", 2),))
MESSAGES = [
    p.Forbidden("torch.nn.functional.conv2d"),
    p.LoadError(ERROR),
    p.Missing(),
    p.NotCallable("int"),
    p.CaseError(1, ERROR),
    p.CaseValue(0, p.encode_value(torch.arange(6.0).reshape(2, 3))),
    p.CaseValue(2, p.encode_value((torch.ones(2, dtype=torch.int64), 3, 2.5, "text"))),
    p.CaseValue(3, p.encode_value(float("nan"))),
]


def test_job_round_trip():
    back = p.decode_job(p.encode_job(JOB))
    assert back.sources == JOB.sources and back.limits == JOB.limits and back.hidden == JOB.hidden
    assert (back.id, back.exercise, back.keep_output, back.timeout) == (7, "corr2d", False, 2.5)
    for got, sent in zip(back.cases, JOB.cases, strict=True):
        assert got.kwargs == sent.kwargs and got.grad_enabled == sent.grad_enabled
        assert len(got.args) == len(sent.args)
        for a, b in zip(got.args, sent.args):
            if isinstance(b, torch.Tensor):
                assert a.dtype == b.dtype and torch.equal(a, b)
            else:
                assert a == b


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_message_round_trip(message):
    line = p.encode_message(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    back = p.decode_message(line)
    if isinstance(message, p.CaseValue) and isinstance(message.value, p.NumberValue):
        assert np.isnan(back.value.value)  # nan != nan
    else:
        assert back == message


def test_reply_round_trip():
    reply = p.Reply(
        id=7,
        messages=tuple(MESSAGES[:3]),
        exit_code=None,
        signal="SIGKILL",
        timed_out=True,
        output="hi\n",
        output_bytes=3,
    )
    assert p.decode_reply(p.encode_reply(reply)) == reply
    failed = p.Reply(id=8, worker_error="OSError: boom")
    assert p.decode_reply(p.encode_reply(failed)) == failed


def test_values_decode_to_what_the_comparison_takes():
    value = p.decode_value(p.encode_value(torch.arange(6, dtype=torch.int32).reshape(2, 3)))
    assert value.dtype_name == "torch.int32" and value.shape == (2, 3)
    np.testing.assert_array_equal(value, np.arange(6.0).reshape(2, 3))
    number = p.decode_value(p.encode_value(3))
    assert float(number) == 3.0 and number.dtype_name == "int"
    assert p.decode_value(p.encode_value("text")).type_name == "str"
    pair = p.decode_value(p.encode_value((np.ones(2), None)))
    assert isinstance(pair, tuple) and isinstance(pair[1], Received)
    assert isinstance(p.encode_value(10**400), p.OtherValue)


class Liar(torch.Tensor):
    """A tensor subclass that claims to be something else: read through torch's base class."""

    def __eq__(self, other):
        return True

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return torch.zeros(1)


def test_encode_value_reads_subclasses_through_the_base_class():
    liar = torch.arange(4.0).as_subclass(Liar)
    value = p.decode_value(p.encode_value(liar))
    np.testing.assert_array_equal(value, np.arange(4.0))


def line(**fields):
    return json.dumps(fields)


@pytest.mark.parametrize(
    "bad",
    [
        b"not json",
        b"[]",
        line(kind="forbidden"),  # a field missing
        line(kind="forbidden", what="x", extra=1),  # a field too many
        line(kind="forbidden", what=3),  # a wrong type
        line(kind="case_error", case=True, error={"type": "E", "message": "", "frames": []}),
        line(kind="case_error", case=-1, error={"type": "E", "message": "", "frames": []}),
        line(kind="case_value", case=0, value={"kind": "number", "value": "1e999"}),
        line(kind="case_value", case=0, value={"kind": "number", "value": 10**400}),
        b'{"kind": "case_value", "case": 0, "value": {"kind": "number", "value": Infinity}}',
        line(
            kind="case_value",
            case=0,
            value={"kind": "tensor", "dtype": "f", "shape": [2], "data": "AAAA"},
        ),
        line(
            kind="case_value",
            case=0,
            value={"kind": "tensor", "dtype": "f", "shape": [-1], "data": ""},
        ),
        line(
            kind="case_value",
            case=0,
            value={"kind": "tensor", "dtype": "f", "shape": [1] * 17, "data": ""},
        ),
        line(
            kind="case_value",
            case=0,
            value={"kind": "tensor", "dtype": "f", "shape": [1], "data": "***"},
        ),
        line(kind="load_error", error={"type": "E", "message": "m" * 301, "frames": []}),
        line(kind="load_error", error={"type": "E", "message": "", "frames": [["f", 1]] * 4}),
        line(kind="nonsense"),
        b"[" * 100_000,
    ],
)
def test_decoding_is_strict(bad):
    with pytest.raises(p.ProtocolError):
        p.decode_message(bad)


def test_reply_decoding_is_strict():
    good = json.loads(p.encode_reply(p.Reply(id=1)))
    for key, value in [("id", "1"), ("timed_out", 1), ("exit_code", 1.5), ("messages", [{}])]:
        with pytest.raises(p.ProtocolError):
            p.decode_reply(json.dumps({**good, key: value}))
    with pytest.raises(p.ProtocolError):
        p.decode_reply(json.dumps({k: v for k, v in good.items() if k != "output"}))
