"""Every verdict the grader gives: from the static checks, and from a worker's reply.

Runs in the grader's process on plain data: the expected values come from the
references computed here, the received ones are decoded from bytes
(:func:`~d2lcnn.grading.protocol.decode_value`).
"""

import builtins
from dataclasses import dataclass, field

import numpy as np
import torch

from .extract import Submission
from .mistakes import diagnose, with_mistake
from .modules import ModuleCase
from .protocol import (
    CaseError,
    CaseValue,
    ErrorInfo,
    Forbidden,
    LoadError,
    Missing,
    NotCallable,
    ReceivedTensor,
    Reply,
    decode_value,
)
from .registry import Case, Exercise

OUTPUT_SHOWN = 2000  # characters of printed output put into the feedback
HIDDEN_SEARCHES = 2  # hidden failed cases tried against every known mistake when none is seen
STATUSES = ("passed", "failed", "error", "timeout", "forbidden", "missing")


@dataclass(frozen=True)
class Verdict:
    """One exercise's grade: its points, its status (one of :data:`STATUSES`), what to tell."""

    score: float
    max_score: float
    status: str
    feedback: str
    output: str = ""  # what the public cases printed
    # for the class report: each case's label, whether it is hidden, its outcome, the known
    # mistake its value shows if any (never inputs)
    cases: tuple[dict, ...] = ()
    stopped: str = ""  # why the process ended before the last case, or the grader failed

    def as_json(self) -> dict:
        extra = {"cases": list(self.cases)} if self.cases else {}
        return {
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "feedback": self.feedback,
            "output": self.output,
            **extra,
            **({"stopped": self.stopped} if self.stopped else {}),
        }


def _zero(exercise: Exercise, status: str, feedback: str, output: str = "") -> Verdict:
    return Verdict(0.0, exercise.points, status, feedback, output)


# ---- verdicts without running anything -------------------------------------------------


def where(submission: Submission, filename: str, lineno: int) -> str:
    """`` (cell 3, line 4: `code`)``: a place in the student's code, for feedback."""
    line = submission.line(filename, lineno)[:120]
    return f" ({filename}, line {lineno}" + (f": `{line}`" if line else "") + ")"


def static_forbidden(
    exercise: Exercise, submission: Submission, hit: tuple[str, str, int]
) -> Verdict:
    """0 points: the static check found ``hit`` (dotted name, filename, line) in the code."""
    what, filename, lineno = hit
    place = where(submission, filename, lineno)
    return _zero(exercise, "forbidden", forbidden_feedback(exercise, what + place))


def broken_definition(exercise: Exercise, submission: Submission) -> Verdict:
    """``error``: the cell that defines the exercise does not parse."""
    return _zero(exercise, "error", missing_feedback(exercise, submission))


def not_defined(exercise: Exercise, submission: Submission) -> Verdict:
    """``missing``: an exercise of the assignment that the submission never defines."""
    return _zero(exercise, "missing", missing_feedback(exercise, submission))


def forbidden_feedback(exercise: Exercise, what: str) -> str:
    """Why ``exercise`` scores 0 for using ``what``, and what it may use instead."""
    name = exercise.name
    if what.startswith(("d2lcnn", "the grader", f"{name} is the course")):
        return (
            f"{name}: forbidden, 0 points. It uses the course package's own answer ({what}); "
            f"write {name} yourself." + exercise.helpers_sentence()
        )
    return (
        f"{name}: forbidden, 0 points. It uses {what}, the library function this exercise "
        f"teaches you to write yourself. Use {exercise.allowed} instead."
        + exercise.helpers_sentence()
    )


def missing_feedback(exercise: Exercise, submission: Submission) -> str:
    name = exercise.name
    if name in submission.broken_defs:
        return f"{name}: not graded, its cell has a syntax error: {submission.broken_defs[name]}."
    return (
        f"{name}: not found. Define `{exercise.definition()}:` at the top level of a cell "
        "(not inside another function or an `if`)."
    )


# ---- verdicts from a worker's reply --------------------------------------------------------


def _error_text(submission: Submission, error: ErrorInfo) -> str:
    """The exception (of a public case, or while loading), where the student's code raised it."""
    kind, message = error.type, error.message
    place = where(submission, error.frames[-1][0][:40], error.frames[-1][1]) if error.frames else ""
    if kind == "NotImplementedError" and not message:
        return f"not implemented yet: replace `raise NotImplementedError()` with your code{place}"
    return f"raised {kind}: {message}{place}" if message else f"raised {kind}{place}"


def _output(reply: Reply) -> str:
    text = reply.output
    if not text:
        return ""
    shown = text[:OUTPUT_SHOWN]
    more = max(0, reply.output_bytes - len(shown.encode("utf-8", "replace")))
    return shown + (f"\n... ({more} more bytes of output not shown)" if more else "")


def _before_cases(
    exercise: Exercise, submission: Submission, public: Reply, hidden: Reply | None
) -> Verdict | None:
    """The verdict when the cases did not matter: a grader failure, a forbidden call, no function."""
    name, output = exercise.name, _output(public)
    failed = public.worker_error or (hidden.worker_error if hidden else None)
    if failed is not None:
        feedback = f"{name}: the grader failed ({failed}); tell your instructor."
        return Verdict(0.0, exercise.points, "error", feedback, output, stopped="the grader failed")
    broken = public.protocol_error or (hidden and hidden.protocol_error and "in a hidden case")
    if broken:
        feedback = (
            f"{name}: error, 0 points. Its process wrote on the grader's result channel "
            f"what the grader does not accept ({broken}); the grader reads only what it sends "
            "there itself. Do not write to file descriptors your code did not open."
        )
        return Verdict(
            0.0, exercise.points, "error", feedback, output, stopped="broke the protocol"
        )
    hit = next((m.what for m in public.messages if isinstance(m, Forbidden)), None)
    if (
        hit is None
        and hidden is not None
        and any(isinstance(m, Forbidden) for m in hidden.messages)
    ):
        hit = "a forbidden function (in a hidden case)"  # the hidden child's text is not shown
    if hit is not None:
        return _zero(exercise, "forbidden", forbidden_feedback(exercise, hit[:200]), output)
    if any(isinstance(m, Missing) for m in public.messages):
        lines = [missing_feedback(exercise, submission), *_load_errors(submission, public)]
        return _zero(exercise, "missing", "\n".join(lines), output)
    bad = next((m.type for m in public.messages if isinstance(m, NotCallable)), None)
    if bad is not None:
        feedback = (
            f"{name} is a {bad}, not a function or class: define it as `{exercise.definition()}:`."
        )
        return _zero(exercise, "error", feedback, output)
    return None


def ran_every_case(reply: Reply, n: int) -> bool:
    """Whether a child reported on each of its ``n`` cases and nothing stopped it before."""
    if reply.worker_error is not None or reply.protocol_error is not None:
        return False
    if any(isinstance(m, (Forbidden, Missing, NotCallable)) for m in reply.messages):
        return False
    done = {m.case for m in reply.messages if isinstance(m, (CaseValue, CaseError))}
    return done >= set(range(n))


def _load_errors(submission: Submission, reply: Reply) -> list[str]:
    errors = [m.error for m in reply.messages if isinstance(m, LoadError)]
    return [f"  while loading your definitions: {_error_text(submission, e)}" for e in errors[:5]]


def _public_line(
    exercise: Exercise,
    case: Case,
    expected: object,
    message: CaseValue | CaseError,
    submission: Submission,
) -> tuple[bool, str, str]:
    """Whether a public case passed, its feedback line (what differs, where it raised), and
    the known mistake its value shows ('' if none)."""
    if isinstance(message, CaseError):
        return False, f"  x  {case.label}: {_error_text(submission, message.error)}", ""
    value = decode_value(message.value)
    ok, text = case.compare(expected, value, exercise.rtol, exercise.atol)
    if ok:
        return True, f"  ok {case.label}", ""
    if _truncated(expected, value):
        assert isinstance(value, ReceivedTensor)
        text += f" (your tensor has dtype {value.dtype_name}: integers drop the fractions)"
    name, sentence = diagnose(exercise, case, value) or ("", "")  # only failed cases pay
    return False, f"  x  {case.label}: {with_mistake(text, sentence)}", name


def _truncated(expected: object, value: object) -> bool:
    return (
        isinstance(value, ReceivedTensor)
        and _fractional(expected)
        and value.dtype_name.split(".")[-1].startswith(("int", "uint", "bool"))
    )


# What a hidden case's feedback may say: the grader's words only, never text the student's
# code chose (a message, a printed value, a shape, a line number could spell out the inputs).
BUILTIN_EXCEPTIONS = frozenset(
    n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)
)
DTYPE_NAMES = frozenset(
    [str(v) for v in vars(torch).values() if isinstance(v, torch.dtype)]
    + [f"numpy.{np.dtype(c)}" for c in "?bhilqBHILQefdg"]
)


def _hidden_line(
    exercise: Exercise,
    case: Case,
    expected: object,
    message: CaseValue | CaseError,
    suspects: list[str] | None = None,
) -> tuple[bool, str, str]:
    """Whether a hidden case passed, a feedback line in the grader's words only (a known
    mistake's sentence is one), and the known mistake its value shows ('' if none): of
    ``suspects`` only, when given."""
    if isinstance(message, CaseError):
        kind = message.error.type
        if kind == "NotImplementedError":
            return False, f"  x  {case.label}: not implemented yet", ""
        named = f"raised {kind}" if kind in BUILTIN_EXCEPTIONS else "raised an exception"
        return False, f"  x  {case.label}: {named} (a hidden case: no details are shown)", ""
    value = decode_value(message.value)
    ok, text = case.compare(expected, value, exercise.rtol, exercise.atol)
    if ok:
        return True, f"  ok {case.label}", ""
    name, mistake = diagnose(exercise, case, value, suspects) or ("", "")
    if isinstance(case, ModuleCase):  # what differs, without the values
        return False, f"  x  {case.label}: {with_mistake(text.split(':')[0], mistake)}", name
    if isinstance(expected, tuple):
        why = "wrong values" if isinstance(value, tuple) else "did not return a tuple"
    elif not isinstance(value, ReceivedTensor):
        why = "did not return a tensor"
    elif value.shape != np.asarray(expected).shape:
        why = "wrong shape"
    elif np.isnan(value).any():
        why = "wrong values (NaN)"
    else:
        why = "wrong values"
    if _truncated(expected, value):
        assert isinstance(value, ReceivedTensor)
        dtype = value.dtype_name if value.dtype_name in DTYPE_NAMES else "an integer dtype"
        why += f" (your tensor has dtype {dtype}: integers drop the fractions)"
    return False, f"  x  {case.label}: {with_mistake(why, mistake)}", name


def _why_stopped(reply: Reply, timeout: float, hidden: bool) -> tuple[str, str]:
    """``(status, reason)`` when a child ended before its last case."""
    if reply.timed_out or reply.signal == "SIGXCPU":
        return "timeout", f"did not finish within the time limit of {timeout} s (an endless loop?)"
    if reply.signal:
        return "error", "crashed the process" + ("" if hidden else f" ({reply.signal})")
    if reply.results_truncated:
        return "error", "returned more data than the grader reads"
    if reply.exit_code == 70:
        return (
            "error",
            "the grader failed before your code ran (exit code 70); tell your instructor",
        )
    code = "" if hidden else f" (exit code {reply.exit_code})"
    return (
        "error",
        f"ended the process{code}; does your code call exit(), sys.exit() or os._exit()?",
    )


@dataclass
class _Tally:
    """What the cases of one exercise came to, so far."""

    outcomes: list[str]  # each case's: passed, failed, error, timeout, not run
    passed: int = 0
    errors: int = 0
    stopped: tuple[str, str] | None = None  # (status, line) when a child ended early
    why: str = ""  # why it ended early
    mistakes: dict[int, str] = field(default_factory=dict)  # case -> the known mistake it shows
    searches: int = 0  # hidden failed cases tried against every mistake

    def suspects(self) -> list[str] | None:
        """The mistakes worth trying on a hidden failed case: hidden cases are new for each
        submission (no cached values), so only the mistakes already seen, or all of them on the
        first few cases, then none: a wrong submission must not cost the grader seconds."""
        seen = list(dict.fromkeys(self.mistakes.values()))
        if seen:
            return seen
        return None if self.searches < HIDDEN_SEARCHES else []


def _run_lines(
    exercise: Exercise,
    cases: list[Case],
    expected: list,
    reply: Reply,
    submission: Submission,
    hidden: bool,
    timeout: float,
    tally: _Tally,
    first: int,
) -> list[str]:
    """The feedback lines of one child's cases (the public ones or the hidden ones)."""
    got: dict[int, CaseValue | CaseError] = {}
    for m in reply.messages:
        if isinstance(m, (CaseValue, CaseError)) and m.case < len(cases) and m.case not in got:
            got[m.case] = m
    lines = []
    for i, case in enumerate(cases):
        if i not in got:
            status, why = _why_stopped(reply, timeout, hidden)
            after = len(tally.outcomes) - first - i - 1
            tail = f"; the {after} case(s) after it were not run" if after else ""
            tally.stopped, tally.why = (status, f"  x  {case.label}: {why}{tail}"), why
            tally.outcomes[first + i] = "timeout" if status == "timeout" else "error"
            break
        tally.errors += isinstance(got[i], CaseError)
        if hidden:
            suspects = tally.suspects()
            ok, line, mistake = _hidden_line(exercise, case, expected[i], got[i], suspects)
            tally.searches += not ok and suspects is None
        else:
            ok, line, mistake = _public_line(exercise, case, expected[i], got[i], submission)
        if mistake:
            tally.mistakes[first + i] = mistake
        tally.passed += ok
        error = isinstance(got[i], CaseError)
        tally.outcomes[first + i] = "passed" if ok else "error" if error else "failed"
        lines.append(line)
    return lines


def judge(
    exercise: Exercise,
    cases: list[Case],
    expected: list,
    submission: Submission,
    public: Reply,
    hidden: Reply | None,
    timeout: float,
) -> Verdict:
    """The :class:`Verdict` of one exercise from its two children's replies.

    Args:
        exercise: the exercise.
        cases: its public cases, then the hidden ones.
        expected: the reference's value for each case (computed in the grader).
        submission: the submission, to quote its lines.
        public: the reply of the child that ran the public cases.
        hidden: the reply of the child that ran the hidden ones; None when they
            were not run (the public child did not get through its cases).
        timeout: the jobs' time limit in seconds, for the feedback.
    """
    early = _before_cases(exercise, submission, public, hidden)
    if early is not None:
        return early
    points, n, n_public = exercise.points, len(cases), len(exercise.public_cases)
    tally = _Tally(["not run"] * n)
    lines = _run_lines(
        exercise,
        cases[:n_public],
        expected[:n_public],
        public,
        submission,
        False,
        timeout,
        tally,
        0,
    )
    if tally.stopped is None and hidden is not None:
        lines += _run_lines(
            exercise,
            cases[n_public:],
            expected[n_public:],
            hidden,
            submission,
            True,
            timeout,
            tally,
            n_public,
        )
    status = "passed" if tally.passed == n else "failed"
    if tally.stopped is not None:
        status = tally.stopped[0]
        lines.append(tally.stopped[1])
    elif tally.errors and status != "passed":
        status = "error"
    score = round(points * tally.passed / n, 2) if n else 0.0
    head = f"{exercise.name}: {tally.passed}/{n} cases passed ({score:g}/{points:g} points)."
    if status != "passed":
        head += " Case labels only; hidden cases' inputs and printed output are not shown."
    setup = [] if status == "passed" else _load_errors(submission, public)
    feedback = "\n".join([head, *_group(lines), *setup])
    per_case = tuple(
        {"label": c.label, "hidden": i >= n_public, "status": tally.outcomes[i]}
        | ({"mistake": tally.mistakes[i]} if i in tally.mistakes else {})
        for i, c in enumerate(cases)
    )
    return Verdict(score, points, status, feedback, _output(public), per_case, tally.why)


def _fractional(expected: object) -> bool:
    """Whether the expected values have fractions (then an integer result cannot match)."""
    arr = expected if isinstance(expected, np.ndarray) else None
    return arr is not None and bool(np.any(np.isfinite(arr) & (arr != np.round(arr))))


def _group(lines: list[str]) -> list[str]:
    """Runs of failed cases with the same message become one line: ``x  a, b and 3 more: message``."""
    groups: list[tuple[bool, list[str], str, str]] = []
    for line in lines:
        label, sep, message = line.partition(": ")
        failed = bool(sep) and line.startswith("  x")
        if failed and groups and groups[-1][0] and groups[-1][2] == message:
            groups[-1][1].append(label[5:])
        else:
            groups.append((failed, [label[5:] if line.startswith("  x") else label], message, line))
    out = []
    for failed, labels, message, line in groups:
        if not failed or len(labels) == 1:
            out.append(line)
        else:
            names = ", ".join(labels[:2]) + (
                f" and {len(labels) - 2} more" if len(labels) > 2 else ""
            )
            out.append(f"  x  {names}: {message}")
    return out
