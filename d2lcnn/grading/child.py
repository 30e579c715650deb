"""The sandboxed child that runs one exercise of one submission (forked by worker.py).

Its :func:`main` is a short list of steps: take over the standard streams,
compute the cases, lock itself down (isolation.py), arm the tripwires
(tripwires.py), load the submission's definitions on top of the course
preamble, find the student's function and call it on every case. Results go
back as :mod:`~d2lcnn.grading.protocol` messages on a dedicated pipe; the
grader compares them in its own process, so nothing done here (patched torch,
lying tensor subclasses, printed fake reports) can change a verdict.
"""

import ast
import linecache
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from . import kernels
from .extract import PREAMBLE
from .forbidden import course_answers, course_objects
from .isolation import lock_down
from .modules import case_from_input
from .protocol import (
    CaseError,
    CaseValue,
    ErrorInfo,
    Forbidden,
    Job,
    LoadError,
    Message,
    Missing,
    NotCallable,
    Source,
    encode_message,
    encode_value,
)
from .registry import Case, Exercise, load_all
from .tripwires import Tripwires

# Captured now, in the worker, before any student code can patch them.
_write, _dup2, _exit, _closerange = os.write, os.dup2, os._exit, os.closerange
_BaseException, _type, _str = BaseException, type, str


class Streams:
    """The child's file descriptors: the result pipe, /dev/null, the output pipe on 1 and 2."""

    def __init__(self, result_fd: int, output_fd: int) -> None:
        self.result_fd = result_fd
        self.devnull = os.open(os.devnull, os.O_RDWR)
        _dup2(self.devnull, 0)
        _dup2(output_fd, 1)
        _dup2(output_fd, 2)
        self.close_others()
        sys.stdout = open(1, "w", buffering=1, errors="replace", closefd=False)
        sys.stderr = open(2, "w", buffering=1, errors="replace", closefd=False)
        sys.stdin = open(0, closefd=False)

    def close_others(self) -> None:
        """Close every descriptor above 2 but the result pipe and /dev/null."""
        low, high = sorted({self.result_fd, self.devnull})
        _closerange(3, low)
        _closerange(low + 1, high)
        _closerange(high + 1, 1 << 16)

    def send(self, message: Message) -> None:
        """Write ``message`` on the result pipe, whole."""
        data = encode_message(message)
        while data:
            data = data[_write(self.result_fd, data) :]

    def silence(self) -> None:
        """From now on what the student's code prints is dropped (the hidden cases' output)."""
        flush()
        _dup2(self.devnull, 1)
        _dup2(self.devnull, 2)
        self.close_others()  # copies of the output pipe the student's code may have made


def flush() -> None:
    try:
        sys.stdout.flush(), sys.stderr.flush()
    except _BaseException:
        pass  # the student's code replaced or closed them


def describe(error: BaseException, student_files: set[str]) -> ErrorInfo:
    """An exception as data: type, message (capped) and the student's lines in its traceback."""
    try:
        message = _str(error)[:300]
    except _BaseException:
        message = "<message could not be shown>"
    frames, tb = [], error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in student_files:
            frames.append((_str(tb.tb_frame.f_code.co_filename)[:400], tb.tb_lineno))
        tb = tb.tb_next
    return ErrorInfo(_type(error).__name__[:80], message, tuple(frames[-3:]))


def course_answer_objects(exercise: Exercise) -> dict[str, object]:
    """``{name: course function}`` of what counts as the course's answer in ``exercise``."""
    course = course_objects()
    return {n: course[n] for n in course_answers(exercise) if n in course}


def arm_tripwires(exercise: Exercise, send: Callable[[Message], None]) -> Tripwires:
    """Before student code: trip the exercise's forbidden functions and every course function
    that counts as the course's answer in it, block the forbidden kernels at the dispatcher,
    and replace the code of the course's answers and the grader's references with tripwires
    (so no route, not a frame nor ``gc.get_objects()``, reaches the originals)."""
    patterns = tuple(exercise.forbidden)
    answers = course_answer_objects(exercise)
    wires = Tripwires(exercise.name, send)
    wires.install(patterns, [exercise.reference, *answers.values()])
    kernels.arm(patterns, send)
    for name, value in answers.items():
        wires.neutralize(value, f"d2lcnn.{name}")
    for other in load_all().values():  # the grader's references: its own answers
        wires.neutralize(other.reference, f"the grader's {other.name}")
    grader_trip = wires.standing_for(exercise.reference, f"the grader's {exercise.name}")
    object.__setattr__(exercise, "reference", grader_trip)  # d2lcnn.check() would call it
    linecache.clearcache()  # the course's source, should anything have read it before
    return wires


def load_definitions(
    sources: tuple[Source, ...], send: Callable[[Message], None]
) -> dict[str, Any]:
    """Run the preamble and the submission's kept statements; report each that raises."""
    student_files = {s.filename for s in sources}
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(compile(PREAMBLE, "<preamble>", "exec"), namespace)
    for source in sources:
        tree = ast.parse(source.text, source.filename)
        for i in source.keep:
            try:
                statement = ast.Module([tree.body[i]], [])
                exec(compile(statement, source.filename, "exec"), namespace)
            except _BaseException as e:
                send(LoadError(describe(e, student_files)))
    return namespace


def find_function(
    namespace: dict[str, Any], exercise: Exercise, wires: Tripwires, send: Callable[[Message], None]
) -> Callable[..., Any]:
    """The student's function; exits after reporting when there is none to call."""
    wires.install(wires.patterns, wires.references)  # modules the student imported
    wires.rewire(namespace)
    name = exercise.name
    fn = namespace.get(name)
    if fn is None:
        send(Missing())
        _exit(0)
    if wires.is_trip(fn):
        send(Forbidden(f"{name} is the course's own {name}"))
        _exit(0)
    if not callable(fn):
        send(NotCallable(_type(fn).__name__[:80]))
        _exit(0)
    return fn


def call_cases(
    fn: Callable[..., Any], cases: list[Case], streams: Streams, student_files: set[str]
) -> None:
    """Call ``fn`` on every case and send each result."""
    for i, case in enumerate(cases):
        message: Message
        try:
            message = CaseValue(i, encode_value(case.call(fn)))
        except _BaseException as e:
            message = CaseError(i, describe(e, student_files))
        streams.send(message)
        flush()


def main(job: Job, result_fd: int, output_fd: int, slot: int, scratch: str) -> NoReturn:
    """Child main: lock down, load the definitions, call every case, report; never returns."""
    streams = Streams(result_fd, output_fd)
    if not job.keep_output:
        streams.silence()  # the hidden cases: what they print is never shown
    exercise = load_all()[job.exercise]
    cases = [case_from_input(c) for c in job.cases]
    lock_down(slot, scratch, job.limits, job.hidden)
    wires = arm_tripwires(exercise, streams.send)
    namespace = load_definitions(job.sources, streams.send)
    fn = find_function(namespace, exercise, wires, streams.send)
    call_cases(fn, cases, streams, {s.filename for s in job.sources})
    _exit(0)
